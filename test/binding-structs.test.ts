// The raw binding takes complete structs: lib/ fills in every default, so the binding has none of
// its own. Each test builds a complete struct (as lib/ does), then, for every field, sends it
// without that field and expects a TypeError naming it; the complete struct works.
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../lib/index.js';
import { loadNative } from '../lib/native.js';
import type { NativeModel } from '../typings/model.js';
import { nativeBackendOptions, nativeConfig, nativeSampleOptions, nativeTrainOptions } from './helpers/native-structs.js';

const addon = loadNative({ backend: 'cpu' });
const config: ModelConfig = {
  input: { type: 'embedding', vocabSize: 5, dim: 3 },
  layers: [{ cell: 'lstm', units: 4 }],
  dense: [{ units: 5 }],
  seed: 1,
};
const B = 2;
const T = 3;
const batch = { batchSize: B, steps: T, inputs: new Int32Array(B * T).fill(1), targets: new Int32Array(B * T).fill(2) };

// `record` without `key`, as the binding sees a field that is absent.
function without<T extends object>(record: T, key: string): T {
  const copy = { ...record } as Record<string, unknown>;
  delete copy[key];
  return copy as T;
}

const missing = (where: string) => new RegExp(`^${where.replace(/[.[\]]/g, '\\$&')} is required$`);

function expectTypeError(call: () => unknown, where: string): void {
  expect(call, where).toThrow(TypeError);
  expect(call, where).toThrow(missing(where));
}

describe('the binding refuses a struct that lacks a field', () => {
  const full = nativeConfig(config);
  const model = (): NativeModel => new addon.Model(full, 'cpu', 'float32', nativeBackendOptions);

  it('the model config, its layers and its dense layers', () => {
    expect(addon.Model.planParams(full).length).toBeGreaterThan(0);
    for (const key of Object.keys(full)) {
      expectTypeError(() => addon.Model.planParams(without(full, key)), `config.${key}`);
      expectTypeError(() => new addon.Model(without(full, key), 'cpu', 'float32', nativeBackendOptions), `config.${key}`);
    }
    for (const key of Object.keys(full.layers[0])) {
      const layers = [without(full.layers[0], key)];
      expectTypeError(() => addon.Model.planParams({ ...full, layers }), `config.layers[0].${key}`);
    }
    for (const key of Object.keys(full.dense[0])) {
      const dense = [without(full.dense[0], key)];
      expectTypeError(() => addon.Model.planParams({ ...full, dense }), `config.dense[0].${key}`);
    }
  });

  it('where the model runs (device, precision, initialize)', () => {
    model().dispose();
    for (const key of Object.keys(nativeBackendOptions)) {
      expectTypeError(() => new addon.Model(full, 'cpu', 'float32', without(nativeBackendOptions, key)), `options.${key}`);
      // Arguments are read on the calling thread, before any work is queued: a synchronous throw.
      expectTypeError(() => addon.Model.build(full, 'cpu', 'float32', without(nativeBackendOptions, key)), `options.${key}`);
    }
  });

  it("a training step's options", () => {
    const m = model();
    const options = nativeTrainOptions();
    expect(Number.isFinite(m.trainStepSync(batch, options).loss)).toBe(true);
    for (const key of Object.keys(options)) {
      expectTypeError(() => m.trainStepSync(batch, without(options, key)), `options.${key}`);
      expectTypeError(() => m.trainStep(batch, without(options, key)), `options.${key}`);
    }
    m.dispose();
  });

  it("a batch's required fields (the optional ones are data: masks, weights, conditions, memories)", () => {
    const m = model();
    const options = nativeTrainOptions();
    for (const key of ['batchSize', 'steps', 'inputs', 'targets']) {
      expectTypeError(() => m.trainStepSync(without(batch, key), options), `batch.${key}`);
      expectTypeError(() => m.evaluateSync(without(batch, key), false, false), `batch.${key}`);
    }
    m.dispose();
  });

  it("generation's options", async () => {
    const m = model();
    const options = nativeSampleOptions({ seed: 3 });
    expect((await m.generate(new Int32Array([1, 2]), 1, 4, options)).length).toBe(4);
    for (const key of Object.keys(options)) {
      expectTypeError(() => m.generate(new Int32Array([1, 2]), 1, 4, without(options, key)), `options.${key}`);
      expectTypeError(() => m.generateChunk(new Int32Array([1, 2]), 1, 4, without(options, key), null), `options.${key}`);
    }
    m.dispose();
  });

  it('a training state', () => {
    const m = model();
    const state = m.exportTrainingState();
    m.importTrainingState(state);
    for (const key of Object.keys(state)) expectTypeError(() => m.importTrainingState(without(state, key)), `state.${key}`);
    m.dispose();
  });
});
