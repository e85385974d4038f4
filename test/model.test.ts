// The Model API over the executor: precision agreement of whole training steps, argument errors
// that leave the model usable, carried state, generation, call ordering and worker threads.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Model, type Batch, type ModelConfig, Vocabulary, charModelConfig, streamBatches } from '../lib/index.js';
import { loadNative } from '../lib/native.js';
import { nativeBackendOptions, nativeConfig, nativeTrainOptions } from './helpers/native-structs.js';
import { randInts, randn, relErr, rng } from './helpers/numeric.js';

const V = 9;
function textbookLike(dtype: 'float32' | 'float64', dropout = 0.3): ModelConfig {
  return {
    input: { type: 'embedding', vocabSize: V, dim: 5 },
    layers: [
      { cell: 'lstm', units: 11, dropoutOutput: dropout },
      { cell: 'lstm', units: 7, dropoutInput: dropout / 2, dropoutOutput: dropout },
    ],
    dense: [{ units: V }],
    seed: 42,
    dtype,
  };
}

function batches(count: number, B: number, T: number, seed = 1): Batch[] {
  const random = rng(seed);
  return Array.from({ length: count }, () => ({
    inputs: randInts(B * T, V, random),
    targets: randInts(B * T, V, random),
    batchSize: B,
    steps: T,
  }));
}

describe('training steps', () => {
  it('float32 follows float64 through several steps with dropout, clipping and carried state', async () => {
    const m32 = Model.create(textbookLike('float32'));
    const m64 = Model.create(textbookLike('float64'));
    for (const p of m64.params()) expect(relErr(m32.getParam(p.name), m64.getParam(p.name))).toBeLessThan(1e-7);
    for (const b of batches(4, 3, 6)) {
      const opts = { learningRate: 0.01, clipNorm: 0.5, carryState: true };
      const [r32, r64] = [await m32.trainStep(b, opts), await m64.trainStep(b, opts)];
      expect(Math.abs(r32.loss - r64.loss) / r64.loss).toBeLessThan(1e-4);
      expect(Math.abs(r32.gradNorm - r64.gradNorm) / r64.gradNorm).toBeLessThan(1e-4);
    }
    for (const p of m64.params()) expect(relErr(m32.getParam(p.name), m64.getParam(p.name)), p.name).toBeLessThan(1e-4);
  });

  it('is reproducible: the same seed gives the same losses, a different seed different ones', () => {
    const run = (seed: number) => {
      const m = Model.create({ ...textbookLike('float32'), seed });
      return batches(3, 2, 5).map((b) => m.trainStepSync(b, { learningRate: 0.01 }).loss);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('lowers the loss on a learnable sequence', async () => {
    const m = Model.create(charModelConfig({ vocabSize: V, units: 16, layers: 1, seed: 1 }));
    const ids = Int32Array.from({ length: 400 }, (_, i) => (i * 2) % V);
    const first = await m.evaluate([...streamBatches(ids, 4, 10)][0]);
    for (let epoch = 0; epoch < 8; epoch++) for (const b of streamBatches(ids, 4, 10)) await m.trainStep(b, { learningRate: 0.02 });
    const last = await m.evaluate([...streamBatches(ids, 4, 10)][0]);
    expect(last.loss).toBeLessThan(first.loss / 4);
    expect(last.accuracy).toBeGreaterThan(0.9);
  });

  it('async calls on one model run one at a time, in call order', async () => {
    const a = Model.create(textbookLike('float32', 0));
    const b = Model.create(textbookLike('float32', 0));
    const data = batches(5, 2, 4);
    const concurrent = await Promise.all(data.map((d) => a.trainStep(d, { learningRate: 0.01 })));
    const sequential = data.map((d) => b.trainStepSync(d, { learningRate: 0.01 }).loss);
    expect(concurrent.map((r) => r.loss)).toEqual(sequential);
  });
});

describe('bad arguments', () => {
  it('throw a TypeError/RangeError naming the argument, and the model keeps training like a clean twin', async () => {
    const model = Model.create(textbookLike('float32', 0));
    const twin = Model.create(textbookLike('float32', 0));
    const [good] = batches(1, 2, 4);
    const bad: [unknown, RegExp, typeof TypeError | typeof RangeError][] = [
      [{ ...good, inputs: new Float32Array(8) }, /batch\.inputs must be an Int32Array/, TypeError],
      [{ ...good, inputs: new Int32Array(7) }, /batch\.inputs must have 8 elements/, RangeError],
      [{ ...good, inputs: Int32Array.from({ length: 8 }, () => V) }, /batch\.inputs\[0\] = 9 is out of range/, RangeError],
      [{ ...good, targets: Int32Array.from({ length: 8 }, () => -1) }, /batch\.targets\[0\] = -1/, RangeError],
      [{ ...good, lengths: Int32Array.from([5, 1]) }, /batch\.lengths\[0\] = 5/, RangeError],
      [{ ...good, weights: new Float32Array([1, 1, 1, 1, 1, 1, 1, NaN]) }, /batch\.weights\[7\] must be finite/, RangeError],
      [{ ...good, batchSize: 0 }, /batch\.batchSize must be in/, RangeError],
      [{ ...good, step: 4 }, /unknown option 'step' \(did you mean 'steps'\?\)/, TypeError],
    ];
    for (const [batch, message, kind] of bad) {
      expect(() => model.trainStepSync(batch as Batch)).toThrow(kind);
      expect(() => model.trainStepSync(batch as Batch)).toThrow(message);
      await expect(model.trainStep(batch as Batch)).rejects.toThrow(kind);
      await expect(model.trainStep(batch as Batch)).rejects.toThrow(message);
    }
    expect(() => model.trainStepSync(good, { learningrate: 0.1 } as never)).toThrow(/did you mean 'learningRate'/);
    expect(() => model.trainStepSync(good, { clipNorm: -1 })).toThrow(RangeError);
    for (const b of batches(3, 2, 4)) {
      const [x, y] = [await model.trainStep(b), await twin.trainStep(b)];
      expect(x.loss).toBe(y.loss);
    }
  });

  it('the raw binding rejects what lib/ would, without crashing', async () => {
    const model = Model.create(textbookLike('float32', 0));
    // Reach past lib/ validation to the native object.
    const native = (model as unknown as { native: { trainStepSync(b: unknown, o: unknown): unknown } }).native;
    const [good] = batches(1, 2, 4);
    const o = nativeTrainOptions();
    // Bounds lib/ checks first reach the executor's own checks, reported as fusedrnn's internal errors.
    expect(() => native.trainStepSync({ ...good, inputs: Int32Array.from({ length: 8 }, () => 1000) }, o)).toThrow(/internal error.*inputs contains 1000/);
    expect(() => native.trainStepSync({ ...good, inputs: new Int32Array(3) }, o)).toThrow(/B\*T = 8/);
    expect(() => native.trainStepSync({ ...good, targets: undefined }, o)).toThrow(/targets/);
    expect(() => native.trainStepSync({ ...good, lengths: new Int32Array([0, 9]) }, o)).toThrow(/internal error.*lengths/);
    expect(() => native.trainStepSync(null, o)).toThrow(TypeError);
    expect(() => native.trainStepSync(good, { ...o, learningRate: 'x' })).toThrow(TypeError);
    expect(() => Model.create({ ...textbookLike('float32'), layers: [{ units: 0 }] })).toThrow(/config\.layers\[0\]\.units/);
    expect(() => Model.create({ ...textbookLike('float32'), dense: [{ units: 5, activaton: 'tanh' } as never] })).toThrow(
      /did you mean 'activation'/,
    );
    expect((await model.trainStep(good)).loss).toBeGreaterThan(0);
  });

  it('a model too big for memory fails with a catchable error, and the process goes on', () => {
    const huge = () =>
      Model.create({ input: { type: 'embedding', vocabSize: 2 ** 24, dim: 2 ** 24 }, layers: [{ units: 4 }], dense: [{ units: 3 }] });
    // The budget check names the field before anything is allocated...
    expect(huge).toThrow(/config\.input \(vocabSize × dim\): the model needs .* GB .* over the memory budget/);
    // ...and past it (a budget set beyond the machine) the native allocation fails cleanly.
    process.env.FUSEDRNN_MEMORY_BUDGET = '1e30';
    try {
      expect(huge).toThrow(/out of memory|cannot create/);
    } finally {
      delete process.env.FUSEDRNN_MEMORY_BUDGET;
    }
    expect(Model.create(textbookLike('float32', 0)).trainStepSync(batches(1, 2, 4)[0]).loss).toBeGreaterThan(0);
  });

  it('a disposed model throws instead of touching freed memory', () => {
    const model = Model.create(textbookLike('float32', 0));
    model.dispose();
    expect(() => model.trainStepSync(batches(1, 2, 4)[0])).toThrow(/disposed/);
    expect(() => model.getParam('dense.bias')).toThrow(/disposed/);
  });
});

describe('numeric blow-ups', () => {
  it('a non-finite gradient skips the step: weights, moments and state untouched, reported or thrown', async () => {
    const config: ModelConfig = {
      input: { type: 'features', size: 2 },
      layers: [{ cell: 'lstm', units: 4 }],
      dense: [{ units: 1 }],
      loss: 'mse',
      seed: 3,
    };
    const model = Model.create(config);
    const twin = Model.create(config);
    const random = rng(9);
    const good = { inputs: Float32Array.from(randn(2 * 3 * 2, random)), targets: new Float32Array(6).fill(0.5), batchSize: 2, steps: 3 };
    // Finite inputs whose squared error overflows float32: the gradient norm becomes infinite.
    const blowUp = { ...good, targets: new Float32Array(6).fill(3e38) };
    const before = model.params().map((p) => model.getParam(p.name));
    await expect(model.trainStep(blowUp, { carryState: true })).rejects.toThrow(/training step 1 was skipped: the gradient norm is (inf|nan)/);
    const skipped = await model.trainStep(blowUp, { nonFinite: 'skip', carryState: true });
    expect(skipped.skipped).toBe(true);
    expect(model.params().map((p) => model.getParam(p.name))).toEqual(before);
    expect(model.getState().blocks.every((b) => b.every((x) => x === 0))).toBe(true);
    expect(model.info().step).toBe(0);
    // It then trains exactly like a twin that never saw the bad batches.
    for (let i = 0; i < 3; i++) {
      const [a, b] = [await model.trainStep(good), await twin.trainStep(good)];
      expect(a.skipped).toBe(false);
      expect(a.loss).toBe(b.loss);
    }
  });
});

describe('info', () => {
  it('reports the CPU kernels in use: the pool threads and the variant the process picked', () => {
    const model = Model.create(textbookLike('float32'));
    const cpu = model.info().cpu!;
    const isa = loadNative().cpuIsa;
    expect(model.info().backend).toBe('cpu');
    expect(cpu.threads).toBe(isa.threads());
    expect(cpu.threads).toBeGreaterThanOrEqual(1);
    expect(isa.names).toContain(cpu.instructionSet);
    expect(cpu.instructionSet).toBe(isa.active());
    model.dispose();
  });
});

describe('recurrent state', () => {
  it('carryState continues a stream exactly as one long sequence would', () => {
    const config = { ...textbookLike('float64', 0) };
    const whole = Model.create(config);
    const halves = Model.create(config);
    const random = rng(5);
    const B = 2;
    const inputs = randInts(B * 8, V, random);
    const take = (t0: number) => Int32Array.from({ length: B * 4 }, (_, i) => inputs[Math.floor(i / 4) * 8 + t0 + (i % 4)]);
    const logitsWhole = whole.predict({ inputs, batchSize: B, steps: 8 });
    // Forward-only state carry: evaluate does not update the state, so step through predict with useState after a
    // zero-lr train step that stores the first half's final state.
    halves.trainStepSync({ inputs: take(0), targets: new Int32Array(B * 4), batchSize: B, steps: 4 }, { learningRate: 0, carryState: true });
    const second = halves.predict({ inputs: take(4), batchSize: B, steps: 4 }, { useState: true });
    return Promise.all([logitsWhole, second]).then(([w, s]) => {
      const tail = new Float64Array(B * 4 * V);
      for (let b = 0; b < B; b++) tail.set(w.subarray((b * 8 + 4) * V, (b * 8 + 8) * V), b * 4 * V);
      expect(relErr(s, tail)).toBeLessThan(1e-12);
    });
  });

  it('getState/setState round-trip, resetState zeroes, and the state shapes follow the layers', () => {
    const m = Model.create(textbookLike('float32', 0));
    expect(m.getState().blocks.length).toBe(0);
    m.trainStepSync(batches(1, 3, 4)[0], { carryState: true });
    const s = m.getState();
    expect(s.batchSize).toBe(3);
    expect(s.blocks.map((b) => b.length)).toEqual([33, 33, 21, 21]); // h,c of 11 units; h,c of 7 units
    expect(s.blocks.some((b) => b.some((x) => x !== 0))).toBe(true);
    const other = Model.create(textbookLike('float32', 0));
    other.setState(s);
    expect(other.getState().blocks).toEqual(s.blocks);
    m.resetState();
    expect(m.getState().blocks.length).toBe(0);
    expect(() => other.setState({ batchSize: 3, blocks: [new Float32Array(2)] })).toThrow(RangeError);
  });
});

describe('training state export/import (the native half of checkpoints)', () => {
  it('resumes bit for bit, dropout included, and rejects a mismatched state', () => {
    const native = (m: Model) => (m as unknown as { native: import('../typings/model.js').NativeModel }).native;
    const a = Model.create(textbookLike('float32'));
    const data = batches(6, 2, 5);
    for (const b of data.slice(0, 3)) a.trainStepSync(b, { carryState: true });
    const saved = native(a).exportTrainingState();
    const state = a.getState();
    expect(saved.step).toBe(3);
    expect(saved.rngCounter).toBeGreaterThan(0);
    const rest = data.slice(3).map((b) => a.trainStepSync(b, { carryState: true }).loss);
    const b2 = Model.create({ ...textbookLike('float32'), seed: 42 });
    native(b2).importTrainingState(saved);
    b2.setState(state);
    expect(data.slice(3).map((b) => b2.trainStepSync(b, { carryState: true }).loss)).toEqual(rest);
    expect(() => b2.importTrainingState({ ...saved, v: new Float64Array(saved.v.length).fill(-1) })).toThrow(RangeError);
    expect(() => b2.importTrainingState({ ...saved, m: new Float64Array(2) })).toThrow(/arenas must have/);
    // The raw binding still guards its uploads.
    expect(() => native(b2).importTrainingState({ ...saved, m: new Float64Array(2) })).toThrow(/internal error.*arenas must have/);
  });
});

describe('generation', () => {
  it('is reproducible for a seed, honours greedy/topK, and checks the prime', async () => {
    const vocab = Vocabulary.fromText('abcdefgh ');
    const m = Model.create(charModelConfig({ vocabSize: vocab.size, units: 12, seed: 3 }));
    const prime = vocab.encode('abc');
    const a = await m.generate(prime, 30, { temperature: 0.9, seed: 5 });
    const b = await m.generate(prime, 30, { temperature: 0.9, seed: 5 });
    const c = await m.generate(prime, 30, { temperature: 0.9, seed: 6 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length).toBe(30);
    const g1 = await m.generate(prime, 10, { greedy: true, seed: 1 });
    const g2 = await m.generate(prime, 10, { topK: 1, seed: 2 });
    expect(g1).toEqual(g2);
    const two = await m.generate([prime, vocab.encode('hgf')], 7, { seed: 1 });
    expect(two.length).toBe(14);
    await expect(m.generate(Int32Array.from([99]), 3)).rejects.toThrow(RangeError);
    await expect(m.generate(Int32Array.from([99]), 3)).rejects.toThrow(/prime\[0\]\[0\] = 99/);
    await expect(m.generate(prime, 3, { temprature: 1 } as never)).rejects.toThrow(/did you mean 'temperature'/);
    expect((await m.generate(prime, 5, { seed: 5, temperature: 0.9 })).length).toBe(5);
  });
});

describe('worker threads', () => {
  it('the addon loads and trains in a worker while the main thread trains too', async () => {
    const { packageRoot } = await import('../lib/native.js');
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(require.resolve('node-gyp-build', { paths: [workerData.root] }))(workerData.root);
      const m = new addon.Model(workerData.config, 'cpu', 'float32', workerData.where);
      const inputs = Int32Array.from({ length: 12 }, (_, i) => i % 5);
      const targets = Int32Array.from({ length: 12 }, (_, i) => (i + 1) % 5);
      const losses = [];
      (async () => {
        for (let i = 0; i < 30; i++) losses.push((await m.trainStep({ batchSize: 3, steps: 4, inputs, targets }, workerData.train)).loss);
        parentPort.postMessage(losses);
      })();
    `;
    const workerData = {
      root: packageRoot,
      config: nativeConfig({ input: { type: 'oneHot', vocabSize: 5 }, layers: [{ cell: 'gru', units: 6 }], dense: [{ units: 5 }], seed: 1 }),
      where: nativeBackendOptions,
      train: nativeTrainOptions({ learningRate: 0.05 }),
    };
    const worker = new Worker(code, { eval: true, workerData });
    const main = Model.create(textbookLike('float32', 0));
    for (const b of batches(5, 2, 4)) await main.trainStep(b);
    const losses: number[] = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(losses.length).toBe(30);
    expect(losses[29]).toBeLessThan(losses[0] * 0.5);
  });
});

describe('Model.createAsync', () => {
  it('builds the same model off the main thread, which keeps running meanwhile', async () => {
    const config = {
      input: { type: 'oneHot' as const, vocabSize: 20 },
      layers: [{ cell: 'lstm' as const, units: 384 }, { cell: 'gru' as const, units: 384 }],
      dense: [{ units: 20 }],
      seed: 9,
    };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    const pending = Model.createAsync(config);
    await new Promise((r) => setTimeout(r, 0));
    const asyncModel = await pending;
    clearInterval(timer);
    const elapsed = performance.now() - started;
    const syncModel = Model.create(config);
    for (const p of syncModel.params()) expect(Array.from(asyncModel.getParam(p.name)), p.name).toEqual(Array.from(syncModel.getParam(p.name)));
    // The timer kept firing while the parameters were initialized (tens of ms of work).
    if (elapsed > 20) expect(ticks).toBeGreaterThan(1);
    await expect(Model.createAsync({ ...config, layers: [] })).rejects.toThrow(TypeError);
    await expect(Model.createAsync({ ...config, seed: -1 })).rejects.toThrow(/config\.seed/);
    asyncModel.dispose();
    syncModel.dispose();
  });

  it('a native handle builds one model only', async () => {
    const addon = loadNative({ backend: 'cpu' });
    const config = nativeConfig({ input: { type: 'oneHot', vocabSize: 3 }, layers: [{ cell: 'gru', units: 2 }], dense: [{ units: 3 }] });
    const handle = await addon.Model.build(config, 'cpu', 'float32', nativeBackendOptions);
    const first = new addon.Model(handle);
    expect(first.params().length).toBeGreaterThan(0);
    expect(() => new addon.Model(handle)).toThrow(TypeError);
    first.dispose();
  });
});
