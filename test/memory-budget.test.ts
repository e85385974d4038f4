// Size errors name their cause (issue 16): a config whose parameters, gradients and Adam moments
// exceed the memory budget is a RangeError naming the config field and the bytes, before any
// native memory is taken; FUSEDRNN_MEMORY_BUDGET sets the budget so the test does not depend on
// the machine.
import { afterEach, describe, expect, it } from 'vitest';
import { Model, type ModelConfig } from '../lib/index.js';
import { loadNative } from '../lib/native.js';

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
  });

  it('a model over the budget is a RangeError naming the field and the bytes, and nothing is built', async () => {
    expect(() => Model.create(config(1 << 24))).toThrow(RangeError);
    expect(() => Model.create(config(1 << 24))).toThrow(/config\.layers\[0\]\.units: the model needs \d+\.\d+ GB .* rnn\.weight_hh_l0, is \[67108864, 16777216\]\), over the memory budget/);
    process.env.FUSEDRNN_MEMORY_BUDGET = String(1e6);
    // 4 × (4·256·(11+256) + ...) floats ≈ 4.4 MB: over a 1 MB budget, under the default one.
    expect(() => Model.create(config(256))).toThrow(/config\.layers\[0\]\.units: the model needs 0\.0\d GB .* over the memory budget of 0\.00 GB/);
    await expect(Model.createAsync(config(256))).rejects.toThrow(RangeError);
    process.env.FUSEDRNN_MEMORY_BUDGET = 'lots';
    expect(() => Model.create(config(8))).toThrow(/FUSEDRNN_MEMORY_BUDGET must be a number of bytes > 0, got "lots"/);
    delete process.env.FUSEDRNN_MEMORY_BUDGET;
    Model.create(config(256)).dispose();
  });
});
