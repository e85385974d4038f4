// The preconditions a model's config decides are checked in lib/ (lib/model-checks.ts), which owns
// their messages: each reaches the caller as a RangeError naming what is missing, never as the
// executor's internal error, and the model is unchanged. Through the raw binding the executor still
// refuses them (as an internal error), so nothing reads past a buffer.
import { describe, expect, it } from 'vitest';
import { Model, type ModelConfig } from '../lib/index.js';

const tokens = (vocab: number, extra: Partial<ModelConfig> = {}): ModelConfig => ({
  input: { type: 'embedding', vocabSize: vocab, dim: 3 },
  layers: [{ cell: 'lstm', units: 5 }],
  dense: [{ units: vocab }],
  seed: 3,
  ...extra,
});

const prime = Int32Array.of(1, 2);
const batch = { inputs: Int32Array.of(1, 2, 3, 4), targets: Int32Array.of(2, 3, 4, 1), batchSize: 2, steps: 2 };

// Rejects with a RangeError matching `message` that is not the executor's internal error.
async function expectRefused(call: () => Promise<unknown>, message: RegExp): Promise<void> {
  const err = await call().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RangeError);
  expect((err as Error).message).toMatch(message);
  expect((err as Error).message).not.toMatch(/internal error/);
}

describe('preconditions lib/ checks before the executor', () => {
  it('generate: softmax output, one direction, no memory, a head no wider than the vocabulary, bf16 on float32 CPU only', async () => {
    const cases: [ModelConfig, RegExp, 'fp32' | 'bf16'][] = [
      [tokens(6, { loss: 'mse' }), /token inputs and a softmax output/, 'fp32'],
      [tokens(6, { layers: [{ cell: 'gru', units: 4, bidirectional: true }] }), /bidirectional model one step at a time/, 'fp32'],
      [tokens(6, { attention: { memorySize: 4 } }), /decode an attention model with beamSearch/, 'fp32'],
      [tokens(6, { dense: [{ units: 9 }] }), /at most vocabSize units/, 'fp32'],
      [tokens(6, { dtype: 'float64' }), /'bf16' needs a float32 model on the CPU backend/, 'bf16'],
    ];
    for (const [config, message, precision] of cases) {
      const m = Model.create(config);
      const before = m.getParam('dense.weight');
      await expectRefused(() => m.generate(prime, 3, { precision }), message);
      await expectRefused(() => m.generateChunk(prime, 3, { precision }, null), message);
      expect(m.getParam('dense.weight')).toEqual(before);
      m.dispose();
    }
  });

  it('memoryGrad needs attention; encode refuses an attention model; a conditioned batch needs its condition', async () => {
    const plain = Model.create(tokens(6));
    await expectRefused(() => plain.trainStep(batch, { memoryGrad: true }), /memoryGrad needs a model with attention/);
    expect(plain.info().step).toBe(0);
    plain.dispose();

    const attending = Model.create(tokens(6, { attention: { memorySize: 4 } }));
    const memory = { memory: new Float32Array(2 * 3 * 4).fill(0.5), memorySteps: 3 };
    await expectRefused(() => attending.encode({ ...batch, ...memory }), /encode is for encoders/);
    attending.dispose();

    const conditioned = Model.create(tokens(6, { conditionSize: 2 }));
    const condition = Float32Array.of(0.1, 0.2, 0.3, 0.4);
    await expectRefused(() => conditioned.trainStep(batch), /batch\.condition is required/);
    await expectRefused(() => conditioned.evaluate(batch), /batch\.condition is required/);
    await expectRefused(() => conditioned.predict(batch), /batch\.condition is required/);
    expect(conditioned.info().step).toBe(0);
    // Starting from the carried state, the condition may be left out.
    await conditioned.trainStep({ ...batch, condition }, { carryState: true });
    await expect(conditioned.trainStep(batch, { carryState: true })).resolves.toMatchObject({ skipped: false });
    conditioned.dispose();
  });

  it('parameter names and sizes, and the carried state blocks, are checked against the config', () => {
    const m = Model.create(tokens(6, { layers: [{ cell: 'lstm', units: 5 }, { cell: 'gru', units: 4, bidirectional: true }] }));
    for (const call of [() => m.getParam('nope'), () => m.getGrad('nope'), () => m.setParam('nope', new Float64Array(1))]) {
      expect(call).toThrow(RangeError);
      expect(call).toThrow(/no parameter named 'nope'/);
    }
    expect(() => m.setParam('dense.bias', new Float64Array(5))).toThrow(/values for 'dense.bias' must have 6 elements, got 5/);
    // Per layer and direction, h then (LSTM) c: 5, 5 for the LSTM, 4 and 4 for the GRU's two directions.
    const sizes = [5, 5, 4, 4].map((h) => 3 * h);
    expect(() => m.setState({ batchSize: 3, blocks: sizes.slice(1).map((n) => new Float64Array(n)) })).toThrow(/state must have 4 blocks, got 3/);
    expect(() => m.setState({ batchSize: 3, blocks: sizes.map((n, i) => new Float64Array(i === 2 ? n + 1 : n)) })).toThrow(
      /state block 2 must have 12 elements/,
    );
    m.setState({ batchSize: 3, blocks: sizes.map((n) => new Float64Array(n).fill(0.25)) });
    expect(m.getState().blocks.map((b) => b.length)).toEqual(sizes);
    m.dispose();
  });

  it('the executor still refuses them when the raw binding is called directly', () => {
    const m = Model.create(tokens(6, { layers: [{ cell: 'gru', units: 4, bidirectional: true }] }));
    const raw = (m as unknown as { native: { setState(b: number, blocks: Float64Array[]): void } }).native;
    expect(() => raw.setState(2, [new Float64Array(1)])).toThrow(/internal error.*state must have 2 blocks/);
    m.dispose();
  });
});
