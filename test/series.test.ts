// Autoregressive series generation (the "creative RNN"): each prediction fed back as the next
// input with the state carried step to step must equal re-running the whole extended sequence
// from a zero state; batches and streaming agree; the carried training state is left alone.
import { describe, expect, it } from 'vitest';
import { Model, type ModelConfig, generateSeries, slidingWindows, streamSeries } from '../lib/index.js';
import { randn, relErr, rng } from './helpers/numeric.js';

const F = 2;
function model(output: 'sequence' | 'last'): Model {
  const config: ModelConfig = {
    input: { type: 'features', size: F },
    layers: [{ cell: 'lstm', units: 7 }, { cell: 'gru', units: 5 }],
    output,
    dense: [{ units: F, activation: 'tanh' }],
    loss: 'mse',
    seed: 6,
    dtype: 'float64',
  };
  return Model.create(config);
}

// The reference: for each new step, run the whole sequence so far from a zero state.
async function byRerunning(m: Model, prime: Float64Array, B: number, length: number): Promise<Float64Array> {
  const P = prime.length / (B * F);
  const seqs = Array.from({ length: B }, (_, b) => Array.from(prime.subarray(b * P * F, (b + 1) * P * F)));
  const out = new Float64Array(B * length * F);
  for (let s = 0; s < length; s++) {
    const steps = P + s;
    const y = await m.predict({ inputs: Float64Array.from(seqs.flat()), batchSize: B, steps });
    for (let b = 0; b < B; b++) {
      const last = m.config.output === 'last' ? y.subarray(b * F, (b + 1) * F) : y.subarray((b * steps + steps - 1) * F, (b * steps + steps) * F);
      out.set(last, (b * length + s) * F);
      seqs[b].push(...last);
    }
  }
  return out;
}

describe('series generation', () => {
  for (const output of ['sequence', 'last'] as const) {
    it(`feeds predictions back exactly as re-running the sequence would (output '${output}', B=3)`, async () => {
      const m = model(output);
      const prime = randn(3 * 4 * F, rng(2));
      const fast = await generateSeries(m, prime, { length: 6, batchSize: 3 });
      expect(relErr(fast, await byRerunning(m, prime, 3, 6))).toBeLessThan(1e-12);
      const streamed: number[] = [];
      for await (const step of streamSeries(m, prime, { length: 6, batchSize: 3 })) streamed.push(...step);
      // Streaming yields [B*F] per step; reorder to [B, length, F] to compare.
      const reordered = new Float64Array(fast.length);
      for (let s = 0; s < 6; s++) for (let b = 0; b < 3; b++) for (let f = 0; f < F; f++) reordered[(b * 6 + s) * F + f] = streamed[(s * 3 + b) * F + f];
      expect(reordered).toEqual(fast);
    });
  }

  it('leaves the carried training state as it was, also when the stream is abandoned', async () => {
    const m = model('sequence');
    const r = rng(4);
    await m.trainStep({ inputs: randn(2 * 3 * F, r), targets: randn(2 * 3 * F, r, 0.5), batchSize: 2, steps: 3 }, { carryState: true });
    const before = m.getState();
    for await (const _ of streamSeries(m, randn(5 * F, r), { length: 10 })) break;
    expect(m.getState()).toEqual(before);
    await generateSeries(m, randn(5 * F, r), { length: 3 });
    expect(m.getState()).toEqual(before);
  });

  it('continues a sine wave it was trained on', async () => {
    const wave = Array.from({ length: 400 }, (_, i) => Math.sin(i * 0.2));
    const { inputs, targets, count, steps } = slidingWindows(wave, 20);
    const m = Model.create({ input: { type: 'features', size: 1 }, layers: [{ units: 24 }], output: 'last', dense: [{ units: 1 }], loss: 'mse', seed: 1 });
    for (let epoch = 0; epoch < 40; epoch++) await m.trainStep({ inputs, targets, batchSize: count, steps }, { learningRate: 0.02 });
    const prime = Float32Array.from(wave.slice(380, 400));
    const next = await generateSeries(m, prime, { length: 10 });
    const truth = Array.from({ length: 10 }, (_, i) => Math.sin((400 + i) * 0.2));
    const mse = next.reduce((acc, v, i) => acc + (v - truth[i]) ** 2, 0) / 10;
    expect(mse).toBeLessThan(0.01);
  });

  it('checks its arguments', async () => {
    const tokens = Model.create({ input: { type: 'oneHot', vocabSize: 4 }, layers: [{ units: 3 }], dense: [{ units: 4 }] });
    await expect(generateSeries(tokens, new Float32Array(4), { length: 2 })).rejects.toThrow(TypeError);
    const m = model('last');
    await expect(generateSeries(m, new Float32Array(3), { length: 2 })).rejects.toThrow(/prime must hold/);
    await expect(generateSeries(m, new Float32Array(4), { length: -1 })).rejects.toThrow(RangeError);
    await expect(generateSeries(m, new Float32Array(4), { lenght: 2 } as never)).rejects.toThrow(/did you mean 'length'/);
  });
});
