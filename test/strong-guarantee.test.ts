// Every failed call leaves the model exactly as it was (issue 16): parameters, Adam moments, step
// counter, dropout RNG counter and carried state are snapshotted before a call that fails and
// compared after. Failures come from bad input and, SQLite-style, from allocation failures
// injected at the N-th allocation (addon.testing.failAllocation) for N = 1, 2, 3 ... until the
// call succeeds: each one must be a clean Error, and the model must still train afterwards.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model, fit, loadCheckpoint, saveCheckpoint, type Batch, type ModelConfig } from '../lib/index.js';
import { loadNative, packageRoot } from '../lib/native.js';
import { nativeBackendOptions, nativeConfig, nativeTrainOptions } from './helpers/native-structs.js';
import { randInts } from './helpers/numeric.js';
import { rng } from './helpers/numeric.js';

const addon = loadNative({ backend: 'cpu' });
afterEach(() => addon.testing.failAllocation(0));
const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-strong-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const V = 7;
const config: ModelConfig = {
  input: { type: 'embedding', vocabSize: V, dim: 3 },
  layers: [{ cell: 'lstm', units: 9, dropoutOutput: 0.2 }, { cell: 'gru', units: 5 }],
  dense: [{ units: V }],
  seed: 5,
};
function batch(B: number, T: number, seed: number): Batch {
  const r = rng(seed);
  return { inputs: randInts(B * T, V, r), targets: randInts(B * T, V, r), batchSize: B, steps: T };
}

// Everything a failed call must leave untouched.
function snapshot(m: Model): unknown {
  const t = m.exportTrainingState();
  const s = m.getState();
  return {
    params: Array.from(t.params),
    moments: [Array.from(t.m), Array.from(t.v)],
    step: t.step,
    rng: t.rngCounter,
    state: { batchSize: s.batchSize, blocks: s.blocks.map((b) => Array.from(b)) },
  };
}

// A model with some history: trained a few steps with carried state.
async function trained(): Promise<Model> {
  const m = Model.create(config);
  for (let i = 0; i < 3; i++) await m.trainStep(batch(2, 4, i), { carryState: true });
  return m;
}

// Runs call with the N-th allocation failing, N = 1, 2, ... until it succeeds; returns how many
// failures it saw. Each failure: an Error, the model as it was.
async function underAllocationFailures(m: Model, call: () => Promise<unknown> | unknown): Promise<number> {
  for (let n = 1; n < 500; n++) {
    const before = snapshot(m);
    addon.testing.failAllocation(n);
    let failed = false;
    try {
      await call();
    } catch (e) {
      failed = true;
      expect(String(e), `allocation ${n}`).toMatch(/out of memory/);
    }
    const fired = addon.testing.allocationCountdown() === 0;
    addon.testing.failAllocation(0);
    if (!failed) {
      expect(fired, `allocation ${n} failed but the call did not notice`).toBe(false);
      return n - 1;
    }
    expect(snapshot(m), `state after the failure at allocation ${n}`).toEqual(before);
  }
  throw new Error('the call never succeeded');
}

describe('a failed call leaves the model exactly as it was', () => {
  it('setState that fails validation keeps the carried state', async () => {
    const m = await trained();
    const before = snapshot(m);
    expect(() => m.setState({ batchSize: 3, blocks: [new Float64Array(1)] })).toThrow(/state must have 3 blocks, got 1/);
    expect(() => m.setState({ batchSize: 2, blocks: [1, 2, 3].map(() => new Float64Array(5)) })).toThrow(/state block 0 must have 18 elements/);
    expect(snapshot(m)).toEqual(before);
  });

  it('bad setParam, importTrainingState and generateChunk calls change nothing', async () => {
    const m = await trained();
    const before = snapshot(m);
    const w = m.getParam('dense.weight');
    expect(() => m.setParam('dense.weight', w.map((x, i) => (i === 3 ? NaN : x)))).toThrow(/must be finite/);
    expect(() => m.setParam('dense.weight', w.subarray(1))).toThrow(/must have \d+ elements/);
    const t = m.exportTrainingState();
    expect(() => m.importTrainingState({ ...t, m: t.m.map((x, i) => (i === 0 ? Infinity : x)) })).toThrow(/first moments must be finite/);
    expect(() => m.importTrainingState({ ...t, v: t.v.map((x, i) => (i === 0 ? -1 : x)) })).toThrow(/second moments/);
    expect(() => m.importTrainingState({ ...t, params: t.params.subarray(1) })).toThrow(/arenas must have/);
    await expect(m.generateChunk(new Int32Array([1, V]), 4, { seed: 1 }, null)).rejects.toThrow(RangeError);
    expect(snapshot(m)).toEqual(before);
  });

  it('an epsilon below the dtype\'s smallest normal number is a RangeError, and nothing changes', async () => {
    const m = await trained();
    const before = snapshot(m);
    await expect(m.trainStep(batch(2, 4, 9), { epsilon: 5e-324 })).rejects.toThrow(/options.epsilon must be in \[1.1754943508222875e-38/);
    expect(() => m.trainStepSync(batch(2, 4, 9), { epsilon: 1e-39 })).toThrow(RangeError);
    expect(snapshot(m)).toEqual(before);
    const r = await m.trainStep(batch(2, 4, 9), { epsilon: 2 ** -126 });
    expect(Number.isFinite(r.loss)).toBe(true);
    for (const p of m.params()) expect(m.getParam(p.name).every(Number.isFinite), p.name).toBe(true);
    const f64 = Model.create({ ...config, dtype: 'float64' });
    await expect(f64.trainStep(batch(2, 4, 9), { epsilon: 5e-324 })).rejects.toThrow(RangeError);
    expect(Number.isFinite((await f64.trainStep(batch(2, 4, 9), { epsilon: 1e-300 })).loss)).toBe(true);
  });

  // Every accepted float option, at the ends of its range: a step either leaves finite weights or
  // reports a skip; sampling always draws a valid token. Nothing becomes non-finite silently.
  it('every float option at the edges of its accepted range keeps the weights finite or reports a skip', async () => {
    const below1 = 1 - 2 ** -53;
    const edges: Record<string, number[]> = {
      learningRate: [0, 1e6],
      beta1: [0, below1],
      beta2: [0, below1],
      epsilon: [2 ** -126, 1],
      weightDecay: [0, 1e6],
      clipNorm: [0, 1e12],
    };
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [option, values] of Object.entries(edges)) {
        for (const value of values) {
          const m = Model.create({ ...config, dtype, layers: [{ cell: 'lstm', units: 9, dropoutOutput: below1 }, { cell: 'gru', units: 5 }], forgetBias: 1e6 });
          for (let i = 0; i < 3; i++) {
            const before = snapshot(m);
            const r = await m.trainStep(batch(2, 4, i), { [option]: value, learningRate: option === 'learningRate' ? value : 1e6, nonFinite: 'skip' });
            const where = `${dtype} ${option}=${value} step ${i}`;
            if (r.skipped) expect({ ...(snapshot(m) as object), rng: 0 }, where).toEqual({ ...(before as object), rng: 0 });
            for (const p of m.params()) expect(m.getParam(p.name).every(Number.isFinite), `${where}: ${p.name}`).toBe(true);
          }
          m.dispose();
        }
      }
      const m = Model.create({ ...config, dtype });
      for (const options of [{ temperature: Number.MIN_VALUE }, { temperature: 1e6 }, { topP: Number.MIN_VALUE }, { temperature: Number.MIN_VALUE, topP: Number.MIN_VALUE }]) {
        const tokens = await m.generate(new Int32Array([1, 2]), 20, { ...options, seed: 4 });
        expect(tokens.every((t) => t >= 0 && t < V), `${dtype} ${JSON.stringify(options)}`).toBe(true);
      }
      m.dispose();
    }
  });

  it('a step whose update would write a non-finite weight or moment is skipped and reported', async () => {
    // Targets of 1e22 with no clipping: the gradient (~1e22) and its norm are finite in float32,
    // but Adam's second moment (1e-3·g² ~ 1e41) is not.
    // Dropout too: the refused step must give back the counters it took.
    const m = Model.create({ input: { type: 'features', size: 2 }, layers: [{ cell: 'lstm', units: 3, dropoutOutput: 0.1 }, { cell: 'lstm', units: 3 }], dense: [{ units: 1 }], loss: 'mse', seed: 1 });
    const B = 4, T = 3;
    const huge = { inputs: Float32Array.from({ length: B * T * 2 }, (_, i) => Math.sin(i)), targets: new Float32Array(B * T).fill(1e22), batchSize: B, steps: T };
    const before = snapshot(m) as Record<string, unknown>;
    const r = await m.trainStep(huge, { clipNorm: 0, nonFinite: 'skip' });
    expect(Number.isFinite(r.gradNorm)).toBe(true);
    expect(r.skipped).toBe(true);
    // A skipped step resolves: weights, moments, step and state as they were (its dropout draws
    // are spent, as for a non-finite gradient)...
    const skipped = snapshot(m) as Record<string, unknown>;
    expect({ ...skipped, rng: 0 }).toEqual({ ...before, rng: 0 });
    // ...a step that throws ('error') leaves the RNG counter too.
    await expect(m.trainStep(huge, { clipNorm: 0 })).rejects.toThrow(/training step 1 was skipped: its update would have made a weight or an Adam moment non-finite/);
    expect(snapshot(m)).toEqual(skipped);
    // The same batch clipped trains normally.
    expect((await m.trainStep(huge, { clipNorm: 1 })).skipped).toBe(false);
    expect(m.exportTrainingState().v.every(Number.isFinite)).toBe(true);
  });

  it('allocation failures in every call that allocates are clean errors that change nothing', async () => {
    const calls: [string, (m: Model) => Promise<unknown> | unknown, ((m: Model) => Promise<unknown>)?][] = [
      ['trainStep, new shape, carried state', (m) => m.trainStep(batch(3, 5, 11), { carryState: true })],
      // The shape's activations exist already: the failures come from inside the step (its
      // scratch), after it has taken its dropout counters.
      ['trainStep, shape seen by evaluate', (m) => m.trainStep(batch(3, 5, 11), { carryState: true }), (m) => m.evaluate(batch(3, 5, 10))],
      ['evaluate, new shape, keeping the state', (m) => m.evaluate(batch(4, 6, 12), { carryState: true })],
      ['predict, new shape', (m) => m.predict(batch(5, 2, 13))],
      ['generate', (m) => m.generate(new Int32Array([1, 2, 3]), 6, { seed: 3 })],
      ['generateChunk', (m) => m.generateChunk([new Int32Array([1, 2]), new Int32Array([3, 4])], 5, { seed: 3 }, null)],
      ['setState, new batch size', (m) => m.setState({ batchSize: 6, blocks: [9, 9, 5].map((h) => new Float64Array(6 * h).fill(0.25)) })],
    ];
    // These write into memory the model holds already: no allocation of ours to fail. The loop
    // still runs them with the first allocation armed to fail, and they must succeed untouched by it.
    const nonAllocating: [string, (m: Model) => Promise<unknown> | unknown][] = [
      ['setParam', (m) => m.setParam('dense.weight', m.getParam('dense.weight').map((x) => x * 0.5))],
      ['importTrainingState', (m) => m.importTrainingState({ ...m.exportTrainingState(), step: 7 })],
      ['saveCheckpoint', (m) => saveCheckpoint(join(dir, 'm.safetensors'), m)],
      ['getState, getParam, exportTrainingState', (m) => [m.getState(), m.getParam('rnn.weight_ih_l0'), m.exportTrainingState()]],
    ];
    for (const [name, call, setup] of [...calls, ...nonAllocating.map(([n, c]) => [n, c, undefined] as const)]) {
      const m = await trained();
      await setup?.(m);
      const failures = await underAllocationFailures(m, () => call(m));
      if (nonAllocating.some(([n]) => n === name)) expect(failures, `${name} allocates now: move it to the list above`).toBe(0);
      else expect(failures, `${name}: allocations that were made to fail`).toBeGreaterThan(0);
      // Still trains, from where it was.
      const r = await m.trainStep(batch(2, 4, 20), { carryState: true });
      expect(Number.isFinite(r.loss), name).toBe(true);
      m.dispose();
    }
  });

  it('fit is atomic per step: an error names the step it stopped at, the steps before stay applied', async () => {
    const m = Model.create(config);
    const twin = Model.create(config);
    const good = [batch(2, 4, 1), batch(2, 4, 2)];
    const bad = { ...batch(2, 4, 3), inputs: Int32Array.from(batch(2, 4, 3).inputs, (t, i) => (i === 5 ? V + 4 : t)) };
    const options = { epochs: 1, progress: false, learningRate: 1e-2 } as const;
    await expect(fit(m, [...good, bad], options)).rejects.toThrow(/fit stopped at epoch 1, batch 3 \(step 3; the steps before it are applied\): .*inputs/);
    await fit(twin, good, options);
    expect(snapshot(m)).toEqual(snapshot(twin));
  });

  it('loadCheckpoint under allocation failures: clean errors until it loads the saved model exactly; dispose then frees it', async () => {
    const m = await trained();
    const path = join(dir, 'load.safetensors');
    await saveCheckpoint(path, m);
    let n = 1;
    for (; n < 200; n++) {
      addon.testing.failAllocation(n);
      try {
        const { model } = await loadCheckpoint(path);
        addon.testing.failAllocation(0);
        expect(snapshot(model)).toEqual(snapshot(m));
        // Freeing allocates nothing; the disposed model refuses calls instead of crashing.
        addon.testing.failAllocation(1);
        model.dispose();
        expect(addon.testing.allocationCountdown()).toBe(1);
        expect(() => model.getParam('dense.weight')).toThrow(/disposed/);
        break;
      } catch (e) {
        expect(String(e), `allocation ${n}`).toMatch(/out of memory/);
      } finally {
        addon.testing.failAllocation(0);
      }
    }
    expect(n).toBeGreaterThan(1);
    expect(n).toBeLessThan(200);
  });

  it('Model.create under allocation failures fails cleanly until it succeeds', () => {
    let n = 1;
    for (; n < 100; n++) {
      addon.testing.failAllocation(n);
      try {
        Model.create(config).dispose();
        break;
      } catch (e) {
        expect(String(e)).toMatch(/out of memory/);
      } finally {
        addon.testing.failAllocation(0);
      }
    }
    expect(n).toBeGreaterThan(1);
    expect(n).toBeLessThan(100);
  });
});

// A failure inside the CPU pool's parallel regions (a worker's allocation, say) used to escape the
// worker thread and end the process; the pool now hands it to the caller once every thread has left
// the region. addon.testing.failPoolTask(n) makes the n-th task of a region throw on whichever
// thread runs it. Every failure must be a clean error, and the model unchanged for the first 20 tasks
// (forward and backward). Adam's update tasks, last, allocate nothing, so a real failure cannot
// reach them: an injected one there may leave a partial update, which the loop undoes.
describe('failures inside the CPU pool', () => {
  const wide: ModelConfig = { input: { type: 'oneHot', vocabSize: V }, layers: [{ cell: 'lstm', units: 64 }], dense: [{ units: V }], seed: 3 };
  afterEach(() => addon.testing.failPoolTask(0));

  it.skipIf(addon.cpuIsa.threads() < 2)('reach the caller as Errors; the model is unchanged and trains on like its twin', async () => {
    const b = batch(32, 6, 11);
    const m = Model.create(wide);
    const twin = Model.create(wide);
    const counter = Model.create(wide);
    for (const model of [m, twin, counter]) await model.trainStep(b);
    addon.testing.failPoolTask(1e9);
    await counter.trainStep(b);
    const tasks = 1e9 - addon.testing.poolTaskCountdown();
    addon.testing.failPoolTask(0);
    expect(tasks, 'parallel tasks in one step of a 64-unit LSTM').toBeGreaterThan(20);
    const saved = m.exportTrainingState();
    for (let n = 1; n <= tasks; n++) {
      const before = n <= 20 ? snapshot(m) : undefined;
      addon.testing.failPoolTask(n);
      await expect(m.trainStep(b), `task ${n}`).rejects.toThrow(/out of memory/);
      expect(addon.testing.poolTaskCountdown(), `task ${n} fired`).toBe(0);
      addon.testing.failPoolTask(0);
      if (before !== undefined) expect(snapshot(m), `task ${n}`).toEqual(before);
      m.importTrainingState(saved);  // undoes a failure inside Adam's update (see above)
    }
    await m.trainStep(b);
    await twin.trainStep(b);
    expect(Array.from(m.exportTrainingState().params)).toEqual(Array.from(twin.exportTrainingState().params));
  });
});

// A thread the system cannot give (addon.testing.failThreadStart(n) fails the n-th start from now).
// A CPU model runs its async calls on a thread of its own, started by its first one: that call must
// fail cleanly, leave the model as it was, and leave nothing locked (the next call used to hang).
describe('a thread that cannot start', () => {
  afterEach(() => addon.testing.failThreadStart(0));

  it("fails a CPU model's first async call cleanly; the next call starts it and trains like a twin", async () => {
    const b = batch(4, 5, 21);
    const m = Model.create(config);
    const twin = Model.create(config);
    const before = snapshot(m);
    addon.testing.failThreadStart(1);
    await expect(m.trainStep(b)).rejects.toThrow(/out of memory/);
    expect(addon.testing.threadStartCountdown(), 'the start failed').toBe(0);
    expect(snapshot(m)).toEqual(before);
    await m.trainStep(b);
    await twin.trainStep(b);
    expect(Array.from(m.exportTrainingState().params)).toEqual(Array.from(twin.exportTrainingState().params));
  });

  // The pool starts its workers once per process, so a fresh process arms the failure first; its
  // first training step must give the loss this process gets with every worker.
  it.skipIf(addon.cpuIsa.threads() < 2)('leaves the CPU pool with the workers that started, and it trains', async () => {
    const wide: ModelConfig = { input: { type: 'oneHot', vocabSize: V }, layers: [{ cell: 'lstm', units: 96 }], dense: [{ units: V }], seed: 4 };
    const b = batch(32, 8, 5);
    const { loss } = await Model.create(wide).trainStep(b);
    const child = `
      const addon = require(require.resolve('node-gyp-build', { paths: [process.env.FUSEDRNN_ROOT] }))(process.env.FUSEDRNN_ROOT);
      addon.testing.failThreadStart(1);
      const threads = addon.cpuIsa.threads();
      const left = addon.testing.threadStartCountdown();
      addon.testing.failThreadStart(0);
      const m = new addon.Model(${JSON.stringify(nativeConfig(wide))}, 'cpu', 'float32', ${JSON.stringify(nativeBackendOptions)});
      const batch = { batchSize: ${b.batchSize}, steps: ${b.steps}, inputs: Int32Array.from(${JSON.stringify(Array.from(b.inputs))}),
                      targets: Int32Array.from(${JSON.stringify(Array.from(b.targets))}) };
      const { loss } = m.trainStepSync(batch, ${JSON.stringify(nativeTrainOptions({}))});
      console.log(JSON.stringify({ threads, left, loss }));
    `;
    const r = spawnSync(process.execPath, ['-e', child], { cwd: packageRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FUSEDRNN_ROOT: packageRoot } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.left, 'the worker start failed').toBe(0);
    expect(out.threads, 'the caller alone: its first worker could not start').toBe(1);
    expect(Math.abs(out.loss - loss) / loss).toBeLessThan(1e-6);
  });
});
