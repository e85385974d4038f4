// The executor's wiring, checked end to end in float64: the gradient of the whole network's loss
// (from a train step with lr 0) against central finite differences of evaluate(), for plans that
// mix every input kind, cell, direction, head and loss.
import { describe, expect, it } from 'vitest';
import { Model, type Batch, type ModelConfig } from '../lib/index.js';
import { numericParamGrad, randInts, randn, relErr, rng } from './helpers/numeric.js';

interface Case {
  name: string;
  config: ModelConfig;
  batch: (random: () => number) => Batch;
}

const cases: Case[] = [
  {
    name: 'embedding -> LSTM(peephole) -> bidirectional GRU(reset-before) -> tanh dense -> softmax, ragged lengths, weights',
    config: {
      input: { type: 'embedding', vocabSize: 7, dim: 4 },
      layers: [
        { cell: 'lstm', units: 5, peephole: true },
        { cell: 'gru', units: 3, bidirectional: true, resetBefore: true },
      ],
      dense: [{ units: 4, activation: 'tanh' }, { units: 7 }],
      init: 'pytorch',
      seed: 11,
    },
    batch: (r) => ({
      inputs: randInts(12, 7, r),
      targets: randInts(12, 7, r),
      lengths: Int32Array.from([3, 1, 4]),
      weights: Float64Array.from({ length: 12 }, () => 0.25 + r()),
      batchSize: 3,
      steps: 4,
    }),
  },
  {
    name: 'features -> bidirectional RNN(tanh) -> LSTM -> last step -> tanh dense -> MSE',
    config: {
      input: { type: 'features', size: 3 },
      layers: [{ cell: 'rnn', units: 4, bidirectional: true }, { cell: 'lstm', units: 3 }],
      output: 'last',
      dense: [{ units: 2, activation: 'tanh' }],
      loss: 'mse',
      seed: 5,
    },
    batch: (r) => ({
      inputs: randn(2 * 5 * 3, r),
      targets: randn(4, r, 0.5),
      lengths: Int32Array.from([5, 2]),
      batchSize: 2,
      steps: 5,
    }),
  },
  {
    name: 'one-hot -> GRU (odd H) -> last step -> softmax classifier, B=1',
    config: {
      input: { type: 'oneHot', vocabSize: 5 },
      layers: [{ cell: 'gru', units: 7 }],
      output: 'last',
      dense: [{ units: 3 }],
      seed: 2,
    },
    batch: (r) => ({ inputs: randInts(3, 5, r), targets: Int32Array.from([2]), batchSize: 1, steps: 3 }),
  },
  {
    name: 'embedding -> 2x bidirectional LSTM -> RNN(tanh) -> per-step softmax, T=1',
    config: {
      input: { type: 'embedding', vocabSize: 6, dim: 3 },
      layers: [
        { cell: 'lstm', units: 3, bidirectional: true },
        { cell: 'rnn', units: 5, activation: 'tanh' },
      ],
      dense: [{ units: 6 }],
      forgetBias: 0.5,
      seed: 9,
    },
    batch: (r) => ({ inputs: randInts(4, 6, r), targets: randInts(4, 6, r), batchSize: 4, steps: 1 }),
  },
  {
    name: 'conditioned: condition -> tanh dense -> h0 of LSTM and bidirectional GRU, ragged lengths',
    config: {
      input: { type: 'embedding', vocabSize: 6, dim: 3 },
      layers: [
        { cell: 'lstm', units: 4 },
        { cell: 'gru', units: 3, bidirectional: true },
      ],
      dense: [{ units: 6 }],
      conditionSize: 5,
      seed: 4,
    },
    batch: (r) => ({
      inputs: randInts(9, 6, r),
      targets: randInts(9, 6, r),
      lengths: Int32Array.from([3, 2, 1]),
      condition: randn(15, r),
      batchSize: 3,
      steps: 3,
    }),
  },
  {
    name: "attention ('general') over a ragged memory: GRU -> attention -> softmax, ragged lengths",
    config: {
      input: { type: 'embedding', vocabSize: 5, dim: 3 },
      layers: [{ cell: 'gru', units: 4 }],
      dense: [{ units: 5 }],
      attention: { memorySize: 3 },
      seed: 2,
    },
    batch: (r) => ({
      inputs: randInts(6, 5, r),
      targets: randInts(6, 5, r),
      lengths: Int32Array.from([3, 2]),
      memory: randn(2 * 4 * 3, r),
      memorySteps: 4,
      memoryLengths: Int32Array.from([4, 2]),
      batchSize: 2,
      steps: 3,
    }),
  },
  {
    name: "attention ('dot') after a bidirectional LSTM, tanh dense, B=1",
    config: {
      input: { type: 'oneHot', vocabSize: 4 },
      layers: [{ cell: 'lstm', units: 2, bidirectional: true }],
      dense: [{ units: 3, activation: 'tanh' }, { units: 4 }],
      attention: { memorySize: 4, score: 'dot' },
      seed: 8,
    },
    batch: (r) => ({ inputs: randInts(3, 4, r), targets: randInts(3, 4, r), memory: randn(5 * 4, r), memorySteps: 5, batchSize: 1, steps: 3 }),
  },
];

describe('whole-network gradients vs finite differences (float64)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const random = rng(1234);
      const model = Model.create({ ...c.config, dtype: 'float64' });
      const batch = c.batch(random);
      model.trainStepSync(batch, { learningRate: 0, clipNorm: 0 });
      const h = 1e-6;
      for (const p of model.params()) {
        const analytic = model.getGrad(p.name);
        const numeric = await numericParamGrad(model, p.name, () => model.evaluateSync(batch).loss, h);
        expect(relErr(analytic, numeric), p.name).toBeLessThan(1e-6);
        // (With T=1 from a zero state the recurrent weights see h=0: their gradient is truly 0.)
        if (batch.steps > 1 || !p.name.includes('weight_hh')) {
          expect(Math.hypot(...numeric), `${p.name} gradient is not zero`).toBeGreaterThan(1e-8);
        }
      }
      model.dispose();
    });
  }

  it('a frozen embedding gets no gradient and no update', async () => {
    const model = Model.create({
      input: { type: 'embedding', vocabSize: 5, dim: 3, frozen: true },
      layers: [{ units: 4 }],
      dense: [{ units: 5 }],
      dtype: 'float64',
    });
    const random = rng(3);
    const before = model.getParam('embedding.weight');
    const recurrentBefore = model.getParam('rnn.weight_hh_l0');
    const batch = { inputs: randInts(6, 5, random), targets: randInts(6, 5, random), batchSize: 2, steps: 3 };
    for (let i = 0; i < 3; i++) await model.trainStep(batch, { learningRate: 0.1, weightDecay: 0.1, decoupledWeightDecay: true });
    expect(model.getParam('embedding.weight')).toEqual(before);
    expect(model.getGrad('embedding.weight').every((x) => x === 0)).toBe(true);
    expect(relErr(model.getParam('rnn.weight_hh_l0'), recurrentBefore)).toBeGreaterThan(1e-3);
    expect(model.params().find((p) => p.name === 'embedding.weight')?.trainable).toBe(false);
  });
});
