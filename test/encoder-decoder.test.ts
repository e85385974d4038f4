// The encoder–decoder plumbing in float64 against central finite differences: the gradient of a
// decoder's loss with respect to the state it started from (trainStep stateGrad), and an
// encoder's parameter gradients from a given gradient of its final states (encode +
// trainFromStateGrad). Together they are the chain rule of an encoder–decoder trained end to end.
import { describe, expect, it } from 'vitest';
import { Model, type ModelConfig } from '../lib/index.js';
import { numericParamGrad, randInts, randn, relErr, rng } from './helpers/numeric.js';

const V = 6;
const stack: ModelConfig['layers'] = [
  { cell: 'lstm', units: 4 },
  { cell: 'gru', units: 3 },
];
const model = (seed: number): Model =>
  Model.create({ input: { type: 'embedding', vocabSize: V, dim: 3 }, layers: stack, dense: [{ units: V }], seed, dtype: 'float64' });
const blockSizes = (B: number) => [4 * B, 4 * B, 3 * B]; // layer 0 h, c; layer 1 h

describe('encoder–decoder gradients (float64, central differences)', () => {
  it('trainStep stateGrad is d loss / d (the carried state the step started from)', () => {
    const r = rng(41);
    const decoder = model(3);
    const B = 3;
    const batch = { inputs: randInts(B * 4, V, r), targets: randInts(B * 4, V, r), lengths: Int32Array.from([4, 2, 3]), batchSize: B, steps: 4 };
    const start = blockSizes(B).map((n) => randn(n, r, 0.5));
    decoder.setState({ batchSize: B, blocks: start });
    const { stateGrad } = decoder.trainStepSync(batch, { learningRate: 0, clipNorm: 0, carryState: true, stateGrad: true });
    expect(stateGrad).toHaveLength(3);
    const h = 1e-6;
    start.forEach((block, k) => {
      const numeric = new Float64Array(block.length);
      for (let i = 0; i < block.length; i++) {
        const at = (delta: number) => {
          const blocks = start.map((b, j) => (j === k ? Float64Array.from(b, (x, m) => (m === i ? x + delta : x)) : b));
          decoder.setState({ batchSize: B, blocks });
          return decoder.evaluateSync(batch, { useState: true }).loss;
        };
        numeric[i] = (at(h) - at(-h)) / (2 * h);
      }
      expect(relErr(stateGrad![k], numeric), `block ${k}`).toBeLessThan(1e-6);
      expect(Math.hypot(...numeric)).toBeGreaterThan(1e-6);
    });
    decoder.dispose();
  });

  it('encode + trainFromStateGrad give the gradient of sum(G * final states) for every encoder parameter', async () => {
    const r = rng(42);
    const encoder = model(4);
    const B = 2;
    const batch = { inputs: randInts(B * 5, V, r), lengths: Int32Array.from([5, 3]), batchSize: B, steps: 5 };
    const G = blockSizes(B).map((n) => randn(n, r));
    const objective = async () => {
      const { blocks } = await encoder.encode(batch);
      return blocks.reduce((s, b, k) => s + b.reduce((t, x, i) => t + x * G[k][i], 0), 0);
    };
    const encoded = await encoder.encode(batch, { training: true });
    expect(encoded.blocks.map((b) => b.length)).toEqual(blockSizes(B));
    await encoder.trainFromStateGrad(G, { learningRate: 0, clipNorm: 0 });
    const h = 1e-6;
    for (const p of encoder.params()) {
      const analytic = encoder.getGrad(p.name);
      if (p.name.startsWith('dense')) {
        expect(analytic.every((x) => x === 0), `${p.name}: the head gets no gradient`).toBe(true);
        continue;
      }
      const numeric = await numericParamGrad(encoder, p.name, objective, h);
      expect(relErr(analytic, numeric), p.name).toBeLessThan(1e-6);
      expect(Math.hypot(...numeric), p.name).toBeGreaterThan(1e-8);
    }
    encoder.dispose();
  });

  it('an attention decoder returns d loss / d memory (memoryGrad), zero past each memory length', () => {
    const r = rng(44);
    const decoder = Model.create({
      input: { type: 'embedding', vocabSize: V, dim: 3 },
      layers: [{ cell: 'lstm', units: 4 }],
      dense: [{ units: V }],
      attention: { memorySize: 3 },
      seed: 6,
      dtype: 'float64',
    });
    const [B, S, M] = [2, 4, 3];
    const batch = {
      inputs: randInts(B * 3, V, r),
      targets: randInts(B * 3, V, r),
      memory: randn(B * S * M, r),
      memorySteps: S,
      memoryLengths: Int32Array.from([4, 2]),
      batchSize: B,
      steps: 3,
    };
    const { memoryGrad } = decoder.trainStepSync(batch, { learningRate: 0, clipNorm: 0, memoryGrad: true });
    const h = 1e-6;
    const numeric = Float64Array.from(batch.memory, (_, i) => {
      const at = (delta: number) => {
        const memory = Float64Array.from(batch.memory, (x, j) => (j === i ? x + delta : x));
        return decoder.evaluateSync({ ...batch, memory }).loss;
      };
      return (at(h) - at(-h)) / (2 * h);
    });
    expect(relErr(memoryGrad!, numeric)).toBeLessThan(1e-6);
    // Row 1 attends over its first 2 steps only.
    expect(Array.from(memoryGrad!.subarray((S + 2) * M, 2 * S * M)).every((g) => g === 0)).toBe(true);
    expect(Math.hypot(...numeric)).toBeGreaterThan(1e-6);
    decoder.dispose();
  });

  it('memories of different lengths on one model give what a fresh model gives', async () => {
    const r = rng(46);
    const config = {
      input: { type: 'embedding' as const, vocabSize: V, dim: 3 },
      layers: [{ cell: 'gru' as const, units: 4 }],
      dense: [{ units: V }],
      attention: { memorySize: 3 },
      seed: 9,
      dtype: 'float64' as const,
    };
    const batch = (S: number) => ({ inputs: randInts(4, V, r), memory: randn(2 * S * 3, r), memorySteps: S, batchSize: 2, steps: 2 });
    const used = Model.create(config);
    const [long, short] = [batch(7), batch(3)];
    await used.predict(long);
    const reused = await used.predict(short);
    const fresh = Model.create(config);
    expect(Array.from(reused)).toEqual(Array.from(await fresh.predict(short)));
    expect(Array.from(await used.predict(long))).toEqual(Array.from(await fresh.predict(long)));
    used.dispose();
    fresh.dispose();
  });

  it('trainFromStateGrad also takes the gradient of the encoded outputs (an attention memory)', async () => {
    const r = rng(45);
    const encoder = model(7);
    const B = 2;
    const batch = { inputs: randInts(B * 4, V, r), lengths: Int32Array.from([4, 3]), batchSize: B, steps: 4 };
    const G = blockSizes(B).map((n) => randn(n, r));
    const O = randn(B * 4 * 3, r); // the top (GRU, 3 units) layer's outputs
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
    const objective = async () => {
      const e = await encoder.encode(batch);
      return e.blocks.reduce((s, b, k) => s + dot(b, G[k]), 0) + dot(e.outputs, O);
    };
    const encoded = await encoder.encode(batch, { training: true });
    expect(encoded.outputs).toHaveLength(B * 4 * 3);
    await encoder.trainFromStateGrad(G, { learningRate: 0, clipNorm: 0 }, O);
    for (const p of encoder.params()) {
      if (p.name.startsWith('dense')) continue;
      const numeric = await numericParamGrad(encoder, p.name, objective);
      expect(relErr(encoder.getGrad(p.name), numeric), p.name).toBeLessThan(1e-6);
    }
    encoder.dispose();
  });

  it('the encoder step needs its own encode, and bad gradients are errors that leave it usable', async () => {
    const r = rng(43);
    const encoder = model(5);
    const batch = { inputs: randInts(4, V, r), batchSize: 2, steps: 2 };
    const G = blockSizes(2).map((n) => randn(n, r));
    await expect(encoder.trainFromStateGrad(G)).rejects.toThrow(/encode/);
    await encoder.encode(batch, { training: true });
    await encoder.predict(batch); // any other call ends the pending encode
    await expect(encoder.trainFromStateGrad(G)).rejects.toThrow(/encode/);
    await encoder.encode(batch, { training: true });
    await expect(encoder.trainFromStateGrad(G.slice(0, 2))).rejects.toThrow(RangeError);
    await expect(encoder.trainFromStateGrad(G, { carryState: true })).rejects.toThrow(/carryState/);
    await expect(encoder.trainStep({ ...batch, targets: randInts(4, V, r) }, { stateGrad: true })).rejects.toThrow(/carryState/);
    await encoder.encode(batch, { training: true });
    const before = encoder.getParam('rnn.weight_hh_l0');
    const step = await encoder.trainFromStateGrad(G, { learningRate: 0.1 });
    expect(step.gradNorm).toBeGreaterThan(0);
    expect(relErr(encoder.getParam('rnn.weight_hh_l0'), before)).toBeGreaterThan(1e-4);
    encoder.dispose();
  });
});
