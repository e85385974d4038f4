// Concurrency: several models in several worker_threads at once; one model hammered with
// concurrent async calls through lib/ (queued, in order) and through the raw binding (a call
// while one is in flight is rejected with a clear error, never a data race).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Model, type ModelConfig } from '../lib/index.js';
import { packageRoot } from '../lib/native.js';
import { nativeBackendOptions, nativeConfig, nativeTrainOptions } from './helpers/native-structs.js';
import { randInts, rng } from './helpers/numeric.js';

const V = 7;
const config: ModelConfig = {
  input: { type: 'oneHot', vocabSize: V },
  layers: [{ cell: 'lstm', units: 12, dropoutOutput: 0.1 }],
  dense: [{ units: V }],
  seed: 4,
};

function data(count: number, seed: number) {
  const random = rng(seed);
  return Array.from({ length: count }, () => ({ inputs: randInts(15, V, random), targets: randInts(15, V, random), batchSize: 3, steps: 5 }));
}

describe('concurrency', () => {
  it('three workers train their own models at once and get the same losses as the main thread', async () => {
    const batches = data(20, 1);
    const reference = Model.create(config);
    const expected = batches.map((b) => reference.trainStepSync(b, { learningRate: 0.01 }).loss);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(require.resolve('node-gyp-build', { paths: [workerData.root] }))(workerData.root);
      const m = new addon.Model(workerData.native, 'cpu', 'float32', workerData.where);
      (async () => {
        const losses = [];
        for (const b of workerData.batches) losses.push((await m.trainStep(b, workerData.train)).loss);
        parentPort.postMessage(losses);
      })();
    `;
    const workerData = {
      root: packageRoot,
      native: nativeConfig(config),
      where: nativeBackendOptions,
      train: nativeTrainOptions({ learningRate: 0.01, clipNorm: 5 }),
      batches,
    };
    const workers = [0, 1, 2].map(() => new Worker(code, { eval: true, workerData }));
    const results = await Promise.all(
      workers.map((w) => new Promise<number[]>((resolve, reject) => (w.once('message', resolve), w.once('error', reject)))),
    );
    await Promise.all(workers.map((w) => w.terminate()));
    for (const losses of results) expect(losses).toEqual(expected);
  });

  it('100 concurrent calls of mixed kinds on one model are queued in call order', async () => {
    const model = Model.create(config);
    const twin = Model.create(config);
    const batches = data(50, 2);
    const pending: Promise<unknown>[] = [];
    const order: string[] = [];
    batches.forEach((b, i) => {
      pending.push(model.trainStep(b, { learningRate: 0.01 }).then(() => order.push(`train${i}`)));
      pending.push(model.evaluate(b).then(() => order.push(`eval${i}`)));
    });
    await Promise.all(pending);
    expect(order).toEqual(batches.flatMap((_, i) => [`train${i}`, `eval${i}`]));
    for (const b of batches) twin.trainStepSync(b, { learningRate: 0.01 });
    for (const p of model.params()) expect(model.getParam(p.name)).toEqual(twin.getParam(p.name));
  });

  it('the raw binding rejects a second call while one is in flight', async () => {
    const model = Model.create({ ...config, layers: [{ cell: 'lstm', units: 256 }] });
    type Raw = { trainStep(b: unknown, o: unknown): Promise<unknown>; trainStepSync(b: unknown, o: unknown): unknown };
    const raw = (model as unknown as { native: Raw }).native;
    const [b] = data(1, 3);
    const options = nativeTrainOptions();
    const first = raw.trainStep(b, options);
    // The raw binding throws synchronously (lib/ turns that into a rejection).
    expect(() => raw.trainStep(b, options)).toThrow(/busy/);
    expect(() => raw.trainStepSync(b, options)).toThrow(/busy/);
    await first;
    await expect(raw.trainStep(b, options)).resolves.toBeDefined();
  });
});
