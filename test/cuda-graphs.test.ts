// CUDA graphs (issue 15, item 2): the CUDA backend captures a whole training step (zero grads,
// forward, loss, backward, clip, Adam) once per batch shape and structural options and replays it.
// Replays must give exactly what the uncaptured step gives (FUSEDRNN_CUDA_GRAPHS=0, read per
// call): bit-identical losses, parameters and carried state, with per-step values (learning rate
// schedules, Adam's step, clip norm, dropout offsets) changing under an unchanged graph, and
// skipped steps (non-finite gradient) leaving weights and Adam's count alone. Skipped with the
// probe's reason where no GPU is usable; the CPU backend is covered by the rest of the suite.
import { afterEach, describe, expect, it } from 'vitest';
import { Model, cosineDecay, exponentialDecay, fit, type Batch, type ModelConfig, type TrainStepOptions } from '../lib/index.js';
import { loadNative } from '../lib/native.js';
import { randn, rng } from './helpers/numeric.js';

const addon = loadNative({ backend: 'cpu' });
const gpuReason = !addon.buildInfo().cuda ? 'this build has no CUDA part' : addon.cudaProbe().ok ? '' : addon.cudaProbe().reason;
if (gpuReason) console.log(`[cuda-graphs] SKIPPED: ${gpuReason}`);

const saved = process.env.FUSEDRNN_CUDA_GRAPHS;
afterEach(() => {
  if (saved === undefined) delete process.env.FUSEDRNN_CUDA_GRAPHS;
  else process.env.FUSEDRNN_CUDA_GRAPHS = saved;
});

function graphs(on: boolean): void {
  if (on) delete process.env.FUSEDRNN_CUDA_GRAPHS;
  else process.env.FUSEDRNN_CUDA_GRAPHS = '0';
}

const V = 11;

function tokenBatch(random: () => number, B: number, T: number, withLengths: boolean): Batch {
  const ints = (n: number) => Int32Array.from({ length: n }, () => Math.floor(random() * V));
  const batch: Batch = { inputs: ints(B * T), targets: ints(B * T), batchSize: B, steps: T };
  if (withLengths) batch.lengths = Int32Array.from({ length: B }, () => 1 + Math.floor(random() * T));
  return batch;
}

function featureBatch(random: () => number, B: number, T: number, F: number, O: number): Batch {
  return {
    inputs: Float32Array.from(randn(B * T * F, random)),
    targets: Float32Array.from(randn(B * T * O, random)),
    batchSize: B,
    steps: T,
  };
}

function snapshot(model: Model): number[][] {
  return model.params().map((p) => Array.from(model.getParam(p.name)));
}

// Trains a fresh model on `batches` with graphs on or off; returns everything a step changes.
async function train(config: ModelConfig, batches: Batch[], on: boolean, options: (i: number) => TrainStepOptions) {
  graphs(on);
  const model = Model.create(config);
  const results = [];
  for (let i = 0; i < batches.length; i++) results.push(await model.trainStep(batches[i], options(i)));
  const out = {
    losses: results.map((r) => r.loss),
    norms: results.map((r) => r.gradNorm),
    skipped: results.map((r) => r.skipped),
    params: snapshot(model),
    state: model.getState().blocks.map((b) => Array.from(b)),
    info: model.info(),
  };
  model.dispose();
  return out;
}

type Precision = 'fp32' | 'tf32';

describe.skipIf(gpuReason !== '')(`CUDA graphs${gpuReason ? ` [skipped: ${gpuReason}]` : ''}`, () => {
  const cases: { cell: 'lstm' | 'gru'; carryState: boolean; precision: Precision }[] = [];
  for (const precision of ['fp32', 'tf32'] as const)
    for (const cell of ['lstm', 'gru'] as const)
      for (const carryState of [false, true]) cases.push({ cell, carryState, precision });

  it.each(cases)('$cell, carryState $carryState, $precision: 20 replayed steps equal 20 uncaptured ones bit for bit', async ({ cell, carryState, precision }) => {
    const config: ModelConfig = {
      input: { type: 'oneHot', vocabSize: V },
      layers: [
        { cell, units: 24, dropoutInput: 0.1, dropoutOutput: 0.2 },
        { cell, units: 16, dropoutOutput: 0.1 },
      ],
      dense: [{ units: V }],
      seed: 5,
      backend: 'cuda',
      precision,
    };
    const random = rng(7);
    const batches = Array.from({ length: 20 }, () => tokenBatch(random, 4, 7, true));
    // A new learning rate every step and a clip norm that bites: per-step values under one graph.
    const options = (i: number): TrainStepOptions => ({ learningRate: 1e-2 * 0.9 ** i, clipNorm: 0.5, carryState });
    const off = await train(config, batches, false, options);
    const on = await train(config, batches, true, options);
    expect(off.info.graphCaptures).toBe(0);
    expect(off.info.graphReplays).toBe(0);
    expect(on.info.graphCaptures).toBe(1);
    expect(on.info.graphReplays).toBe(19);
    expect(on.info.graphFallbacks).toBe(0);
    expect(on.losses).toEqual(off.losses);
    expect(on.norms).toEqual(off.norms);
    expect(on.params).toEqual(off.params);
    expect(on.state).toEqual(off.state);
    expect(on.info.step).toBe(20);
  });

  it('sampled softmax (GRU, reset-before) and an MSE feature model (LSTM, weights) replay bit for bit', async () => {
    const random = rng(8);
    const sampled: ModelConfig = {
      input: { type: 'embedding', vocabSize: 40, dim: 8 },
      layers: [{ cell: 'gru', units: 20, resetBefore: true, dropoutOutput: 0.1 }],
      dense: [{ units: 40 }],
      sampledSoftmax: { samples: 6 },
      seed: 2,
      backend: 'cuda',
      precision: 'fp32',
    };
    const ids = (n: number) => Int32Array.from({ length: n }, () => Math.floor(random() * 40));
    const sb: Batch[] = Array.from({ length: 10 }, () => ({ inputs: ids(15), targets: ids(15), batchSize: 3, steps: 5 }));
    const options = (i: number): TrainStepOptions => ({ learningRate: 5e-3 / (1 + i), clipNorm: 1 });
    const [a, b] = [await train(sampled, sb, false, options), await train(sampled, sb, true, options)];
    expect(b.info.graphCaptures).toBe(1);
    expect(b.losses).toEqual(a.losses);
    expect(b.params).toEqual(a.params);

    // W5's shape in miniature: 2 LSTM layers, features in, the last step to an MSE head (with
    // output dropout before it), row weights.
    const mse: ModelConfig = {
      input: { type: 'features', size: 3 },
      layers: [{ units: 20 }, { units: 20, dropoutOutput: 0.2 }],
      output: 'last',
      dense: [{ units: 2 }],
      loss: 'mse',
      seed: 4,
      backend: 'cuda',
      precision: 'tf32',
    };
    const fb = Array.from({ length: 10 }, () => ({
      inputs: Float32Array.from(randn(8 * 6 * 3, random)),
      targets: Float32Array.from(randn(8 * 2, random)),
      weights: Float32Array.from({ length: 8 }, () => random()),
      batchSize: 8,
      steps: 6,
    }));
    const [c, d] = [await train(mse, fb, false, options), await train(mse, fb, true, options)];
    expect(d.info.graphCaptures).toBe(1);
    expect(d.info.graphReplays).toBe(9);
    expect(d.losses).toEqual(c.losses);
    expect(d.params).toEqual(c.params);
  });

  it('stateGrad: the gradient of the carried state, downloaded after a replayed step, matches', async () => {
    const config: ModelConfig = { input: { type: 'oneHot', vocabSize: V }, layers: [{ units: 12 }, { cell: 'gru', units: 10 }], dense: [{ units: V }], seed: 6, backend: 'cuda' };
    const random = rng(13);
    const batches = Array.from({ length: 6 }, () => tokenBatch(random, 3, 5, false));
    const run = async (on: boolean) => {
      graphs(on);
      const model = Model.create(config);
      const grads = [];
      for (const b of batches) grads.push((await model.trainStep(b, { carryState: true, stateGrad: true })).stateGrad!.map((g) => Array.from(g)));
      const out = { grads, params: snapshot(model), info: model.info() };
      model.dispose();
      return out;
    };
    const [off, on] = [await run(false), await run(true)];
    expect(on.info.graphCaptures).toBe(1);
    expect(on.grads).toEqual(off.grads);
    expect(on.params).toEqual(off.params);
  });

  it('fit with a learning-rate schedule and validation captures once; 100 scheduled trainSteps too', async () => {
    const config: ModelConfig = {
      input: { type: 'oneHot', vocabSize: V },
      layers: [{ units: 32, dropoutOutput: 0.1 }, { units: 32 }],
      dense: [{ units: V }],
      seed: 9,
      backend: 'cuda',
    };
    const random = rng(10);
    const data = Array.from({ length: 5 }, () => tokenBatch(random, 8, 10, false));
    const validation = Array.from({ length: 2 }, () => tokenBatch(random, 8, 10, false));
    const run = async (on: boolean) => {
      graphs(on);
      const model = Model.create(config);
      const result = await fit(model, data, {
        epochs: 4,
        learningRate: cosineDecay({ initial: 1e-2, decaySteps: 20, minimum: 1e-4 }),
        clipNorm: 1,
        validationData: validation,
        progress: false,
      });
      const out = { history: result.history.map((e) => [e.loss, e.valLoss]), params: snapshot(model), info: model.info() };
      model.dispose();
      return out;
    };
    const off = await run(false);
    const on = await run(true);
    expect(on.info.graphCaptures).toBe(1);
    expect(on.info.graphReplays).toBe(19);
    expect(on.history).toEqual(off.history);
    expect(on.params).toEqual(off.params);

    graphs(true);
    const model = Model.create(config);
    const schedule = exponentialDecay({ initial: 1e-2, decayRate: 0.5, decaySteps: 25 });
    for (let i = 0; i < 100; i++) await model.trainStep(data[i % data.length], { learningRate: schedule(i) });
    expect(model.info().graphCaptures).toBe(1);
    expect(model.info().graphReplays).toBe(99);
    expect(model.info().step).toBe(100);
    model.dispose();
  });

  it('a new batch shape captures anew; going back replays the first graph', async () => {
    graphs(true);
    const model = Model.create({ input: { type: 'oneHot', vocabSize: V }, layers: [{ units: 16 }], dense: [{ units: V }], backend: 'cuda' });
    const random = rng(11);
    for (let i = 0; i < 3; i++) await model.trainStep(tokenBatch(random, 4, 7, false));
    expect([model.info().graphCaptures, model.info().graphReplays]).toEqual([1, 2]);
    for (let i = 0; i < 3; i++) await model.trainStep(tokenBatch(random, 4, 9, false));
    expect([model.info().graphCaptures, model.info().graphReplays]).toEqual([2, 4]);
    for (let i = 0; i < 3; i++) await model.trainStep(tokenBatch(random, 4, 7, false));
    expect([model.info().graphCaptures, model.info().graphReplays]).toEqual([2, 7]);
    // Lengths present is another key (different ops).
    for (let i = 0; i < 2; i++) await model.trainStep(tokenBatch(random, 4, 7, true));
    expect(model.info().graphCaptures).toBe(3);
    model.dispose();
  });

  it('skipped steps (non-finite gradient) leave the weights and Adam\'s count alone, as uncaptured', async () => {
    const config: ModelConfig = { input: { type: 'features', size: 2 }, layers: [{ units: 8 }], dense: [{ units: 1 }], loss: 'mse', seed: 3, backend: 'cuda' };
    const random = rng(12);
    const good = () => featureBatch(random, 4, 3, 2, 1);
    // Finite targets whose error overflows float32 in the gradient: the norm is not finite.
    const blowUp = () => ({ ...good(), targets: new Float32Array(12).fill(3e38) });
    const batches = [good(), good(), blowUp(), good(), blowUp(), blowUp(), good(), good()];
    const options = (i: number): TrainStepOptions => ({ learningRate: 1e-2 + 1e-3 * i, clipNorm: 1, nonFinite: 'skip', carryState: true });
    const off = await train(config, batches, false, options);
    const on = await train(config, batches, true, options);
    expect(on.skipped).toEqual([false, false, true, false, true, true, false, false]);
    expect(on.skipped).toEqual(off.skipped);
    expect(on.info.step).toBe(5);
    expect(off.info.step).toBe(5);
    expect(on.info.graphReplays).toBe(7);
    expect(on.losses).toEqual(off.losses);
    expect(on.params).toEqual(off.params);
    expect(on.state).toEqual(off.state);

    // A replayed skipped step changes nothing.
    graphs(true);
    const model = Model.create(config);
    for (let i = 0; i < 3; i++) await model.trainStep(batches[i % 2], options(i));
    const before = snapshot(model);
    const r = await model.trainStep(blowUp(), options(3));
    expect(r.skipped).toBe(true);
    expect(model.info().graphReplays).toBe(3);
    expect(snapshot(model)).toEqual(before);
    expect(model.info().step).toBe(3);
    model.dispose();
  });
});
