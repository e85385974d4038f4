// Size errors name their cause (issue 16): a config whose parameters, gradients and Adam moments
// exceed the memory budget is a RangeError naming the config field and the bytes, before any
// native memory is taken; FUSEDRNN_MEMORY_BUDGET sets the budget so the test does not depend on
// the machine.
import { afterEach, describe, expect, it } from 'vitest';
import { Model, type Batch, type ModelConfig } from '../lib/index.js';
import { loadNative } from '../lib/native.js';
import { memoryBudget } from '../lib/memory-budget.js';
import type { NativeAddon } from '../typings/native.js';

afterEach(() => {
  delete process.env.FUSEDRNN_MEMORY_BUDGET;
});

const config = (units: number): ModelConfig => ({
  input: { type: 'oneHot', vocabSize: 11 },
  layers: [{ cell: 'lstm', units }, { cell: 'gru', units: 8 }],
  dense: [{ units: 11 }],
});

describe('memory budget', () => {
  it('the machine facts are numbers', () => {
    const l = loadNative({ backend: 'cpu' }).memoryLimits();
    expect(l.physical).toBeGreaterThan(0);
    expect(Number.isFinite(l.physical)).toBe(true);
    expect(l.cgroup).toBeGreaterThan(0);
    expect(l.addressSpace).toBeGreaterThan(0);
    // Without CUDA, or without a device asked about, there is no device limit.
    expect(l.deviceMemory).toBe(Infinity);
  });

  it('a GPU model is budgeted by its own device: the total memory the addon reports for that ordinal', () => {
    const asked: (number | undefined)[] = [];
    const limits = { physical: 1, cgroup: 1, addressSpace: 1 };
    const addon = { memoryLimits: (device?: number) => (asked.push(device), { ...limits, deviceMemory: 1000 + (device ?? -1) }) };
    expect(memoryBudget(addon as unknown as NativeAddon, 'cuda', 3)).toBe(1003);
    expect(memoryBudget(addon as unknown as NativeAddon, 'cpu')).toBe(1);
    expect(asked).toEqual([3, undefined]);
    process.env.FUSEDRNN_MEMORY_BUDGET = '12345';
    expect(memoryBudget(addon as unknown as NativeAddon, 'cuda', 3)).toBe(12345);
  });

  it('a model over the budget is a RangeError naming the field and the bytes, and nothing is built', async () => {
    expect(() => Model.create(config(1 << 24))).toThrow(RangeError);
    expect(() => Model.create(config(1 << 24))).toThrow(/config\.layers\[0\]\.units: the model needs \d+\.\d+ GB .* rnn\.weight_hh_l0, is \[67108864, 16777216\]\), over the memory budget/);
    process.env.FUSEDRNN_MEMORY_BUDGET = String(1e6);
    // 4 × (4·256·(11+256) + ...) floats ≈ 4.4 MB: over a 1 MB budget, under the default one.
    expect(() => Model.create(config(256))).toThrow(/config\.layers\[0\]\.units: the model needs \d\.\d MB .* over the memory budget of 1\.0 MB/);
    await expect(Model.createAsync(config(256))).rejects.toThrow(RangeError);
    process.env.FUSEDRNN_MEMORY_BUDGET = 'lots';
    expect(() => Model.create(config(8))).toThrow(/FUSEDRNN_MEMORY_BUDGET must be a number of bytes > 0, got "lots"/);
    delete process.env.FUSEDRNN_MEMORY_BUDGET;
    Model.create(config(256)).dispose();
  });

  // A batch whose activations do not fit is refused before anything is allocated, naming the batch
  // dimensions; the count is the allocation plan itself, so it equals what the call then takes.
  describe('activations', () => {
    const batch = (B: number, T: number): Batch => {
      const inputs = new Int32Array(B * T).map((_, i) => (i * 7 + 3) % 11);
      return { inputs, targets: inputs.map((t) => (t + 1) % 11), batchSize: B, steps: T };
    };
    const native = (m: Model) => (m as unknown as { native: import('../typings/model.js').NativeModel }).native;

    it('are measured without allocating, exactly as the call then allocates them', async () => {
      const m = Model.create({ ...config(24), dtype: 'float64' });
      const before = m.info().nativeBytes;
      const planned = native(m).activationBytes(5, 13);
      expect(m.info().nativeBytes).toBe(before);
      expect(native(m).activationBytes(5, 26)).toBeGreaterThan(planned);
      expect(native(m).activationBytes(10, 13)).toBeGreaterThan(planned);
      await m.trainStep(batch(5, 13));
      // The step may also grow the backend's scratch (derived bytes), never less than the plan.
      const grown = m.info().nativeBytes - before;
      expect(grown).toBeGreaterThanOrEqual(planned);
      expect(grown - planned).toBeLessThan(planned);
      expect(native(m).activationBytes(5, 13)).toBe(0);
      m.dispose();
    });

    it('over the budget: a RangeError naming batchSize × steps, and the model is unchanged and still trains', async () => {
      const m = Model.create(config(24));
      await m.trainStep(batch(2, 5));
      const params = m.getParam('rnn.weight_hh_l0');
      const held = m.info().nativeBytes;
      const needed = native(m).activationBytes(64, 400);
      process.env.FUSEDRNN_MEMORY_BUDGET = String(held + needed - 1);
      for (const call of [() => m.trainStep(batch(64, 400)), () => m.evaluate(batch(64, 400)), () => m.predict(batch(64, 400))]) {
        await expect(call()).rejects.toThrow(/batch\.batchSize × batch\.steps = 64 × 400: the activations need \d+\.\d MB beside .* over the memory budget/);
      }
      expect(() => m.trainStepSync(batch(64, 400))).toThrow(RangeError);
      expect(m.info().nativeBytes).toBe(held);
      expect(m.info().step).toBe(1);
      expect(m.getParam('rnn.weight_hh_l0')).toEqual(params);
      // Shapes already held need nothing more; a budget just large enough admits the big batch.
      await m.trainStep(batch(2, 5));
      process.env.FUSEDRNN_MEMORY_BUDGET = String(held + needed);
      await m.evaluate(batch(64, 400));
      m.dispose();
    });

    it('the raw binding checks its arguments', () => {
      const m = Model.create(config(8));
      for (const bad of [[0, 1], [1, 0], [1.5, 2], [2 ** 25, 1], [Number.NaN, 1]]) {
        expect(() => native(m).activationBytes(bad[0], bad[1])).toThrow(RangeError);
      }
      expect(() => (native(m).activationBytes as (...a: unknown[]) => number)('2', 3)).toThrow(TypeError);
      expect(native(m).activationBytes(2 ** 24, 2 ** 24)).toBeGreaterThan(2 ** 60);
      m.dispose();
    });
  });
});
