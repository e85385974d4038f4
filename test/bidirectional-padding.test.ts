// Bidirectional layers and variable lengths: padding never changes the loss or the outputs of
// the valid steps, compared with running each sequence alone. Padded steps hold random tokens
// (never zeros), so a leak would show. fp64 models, so the comparison is tight.
import { describe, expect, it } from 'vitest';
import { Model, padSequences, predictData, type ModelConfig } from '../lib/index.js';

const V = 11;
const lengths = [7, 1, 4, 6, 2];
const T = 8;
let seed = 5;
const nextInt = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
const sequences = lengths.map((n) => Int32Array.from({ length: n }, () => nextInt(V)));
const seqTargets = lengths.map((n) => Int32Array.from({ length: n }, () => nextInt(V)));

function config(output: 'sequence' | 'last', cell: 'lstm' | 'gru' | 'rnn'): ModelConfig {
  return {
    input: { type: 'embedding', vocabSize: V, dim: 5 },
    layers: [{ cell, units: 7, bidirectional: true }, { cell: 'lstm', units: 5, bidirectional: true }],
    output,
    dense: [{ units: 6, activation: 'tanh' }, { units: V }],
    seed: 3,
    dtype: 'float64',
  };
}

// A padded batch whose padding is random tokens.
function paddedBatch(output: 'sequence' | 'last') {
  const p = padSequences(sequences, { steps: T });
  const inputs = p.data as Int32Array;
  for (let b = 0; b < lengths.length; b++) for (let t = lengths[b]; t < T; t++) inputs[b * T + t] = nextInt(V);
  const targets =
    output === 'sequence'
      ? Int32Array.from({ length: lengths.length * T }, (_, i) => (i % T < lengths[Math.floor(i / T)] ? seqTargets[Math.floor(i / T)][i % T] : nextInt(V)))
      : Int32Array.from(seqTargets, (t) => t[0]);
  return { inputs, targets, batchSize: lengths.length, steps: T, lengths: p.lengths };
}

describe('bidirectional + variable length', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    it(`${cell}: per-step outputs and loss of the valid steps equal each sequence run alone`, async () => {
      const model = Model.create(config('sequence', cell));
      const batch = paddedBatch('sequence');
      const padded = await model.predict(batch);
      const loss = await model.evaluate(batch);
      let lossSum = 0;
      for (let b = 0; b < lengths.length; b++) {
        const n = lengths[b];
        const alone = { inputs: sequences[b], targets: seqTargets[b], batchSize: 1, steps: n };
        const out = await model.predict(alone);
        const rows = padded.subarray(b * T * V, (b * T + n) * V);
        for (let i = 0; i < out.length; i++) expect(Math.abs(rows[i] - out[i])).toBeLessThan(1e-12);
        lossSum += (await model.evaluate(alone)).loss * n;
      }
      expect(loss.weightSum).toBe(lengths.reduce((s, n) => s + n, 0));
      expect(Math.abs(loss.loss - lossSum / loss.weightSum)).toBeLessThan(1e-12);
    });
  }

  it("output 'last': the head sees each sequence's last valid step (forward) and its start (backward)", async () => {
    const model = Model.create(config('last', 'lstm'));
    const batch = paddedBatch('last');
    const padded = await predictData(model, [batch]);
    expect(padded.rows).toBe(lengths.length);
    const loss = await model.evaluate(batch);
    let lossSum = 0;
    for (let b = 0; b < lengths.length; b++) {
      const alone = { inputs: sequences[b], targets: seqTargets[b].subarray(0, 1), batchSize: 1, steps: lengths[b] };
      const out = await model.predict(alone);
      for (let i = 0; i < V; i++) expect(Math.abs(padded.values[b * V + i] - out[i])).toBeLessThan(1e-12);
      lossSum += (await model.evaluate(alone)).loss;
    }
    expect(Math.abs(loss.loss - lossSum / lengths.length)).toBeLessThan(1e-12);
  });

  it('training on padded batches gives the same gradients as on the sequences alone, weighted', async () => {
    const model = Model.create(config('sequence', 'gru'));
    const batch = paddedBatch('sequence');
    model.trainStepSync(batch, { learningRate: 0 });
    const paddedGrad = model.getGrad('rnn.weight_hh_l0_reverse');
    const sum = new Float64Array(paddedGrad.length);
    const total = lengths.reduce((s, n) => s + n, 0);
    for (let b = 0; b < lengths.length; b++) {
      model.trainStepSync({ inputs: sequences[b], targets: seqTargets[b], batchSize: 1, steps: lengths[b] }, { learningRate: 0 });
      const g = model.getGrad('rnn.weight_hh_l0_reverse');
      for (let i = 0; i < g.length; i++) sum[i] += (g[i] * lengths[b]) / total;
    }
    const scale = Math.max(...paddedGrad.map(Math.abs));
    expect(scale).toBeGreaterThan(0);
    for (let i = 0; i < sum.length; i++) expect(Math.abs(sum[i] - paddedGrad[i])).toBeLessThan(1e-10 * scale + 1e-14);
  });
});
