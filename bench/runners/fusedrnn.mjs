// fusedrnn through its public API (dist/, built by `npx tsc`): the same models and settings as the
// peers. One-hot input for the char workloads (as the textbook and the tfjs/PyTorch runners).
import { readFileSync } from 'node:fs';
import { Model, nativeStatus, loadNative } from '../../dist/index.js';
import { CLIP_NORM, FORGET_BIAS, LEARNING_RATE, charBatch, seriesBatch } from '../workloads.mjs';
import { report, runMain, timeRuns, unavailable } from './harness.mjs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

function config(w, backend) {
  const layers = Array.from({ length: w.layers }, () => ({ cell: w.cell, units: w.hidden }));
  const common = { layers, init: 'keras', forgetBias: FORGET_BIAS, seed: 7, dtype: 'float32', backend };
  return w.kind === 'train-series'
    ? { ...common, input: { type: 'features', size: w.input }, output: 'last', dense: [{ units: 1 }], loss: 'mse' }
    : { ...common, input: { type: 'oneHot', vocabSize: w.vocab }, output: 'sequence', dense: [{ units: w.vocab }], loss: 'softmaxCrossEntropy' };
}

runMain(async ({ workload: w, plan, options }) => {
  const backend = options.backend ?? 'cpu';
  if (backend === 'cuda') {
    const status = nativeStatus({ backend: 'auto' });
    if (status.variant !== 'cuda') unavailable(`no usable GPU: ${status.fallbackReason}`);
    unavailable(`a GPU is usable (${status.cudaProbe?.reason}) but Model has no 'cuda' backend in this release`);
  }
  const model = Model.create(config(w, backend));
  const train = { learningRate: LEARNING_RATE, clipNorm: CLIP_NORM };
  let timing;
  if (w.kind === 'generate') {
    const chars = plan.generateChars;
    let seed = 1;
    // One prime token, then `chars` draws: the per-character cost of the sampling loop.
    timing = await timeRuns(() => model.generate(Int32Array.of(5), chars, { temperature: w.temperature, seed: seed++ }), plan, (ms) => (ms * 1000) / chars);
  } else {
    const data = w.kind === 'train-series' ? seriesBatch(w) : charBatch(w);
    const batch = { ...data, batchSize: w.batch, steps: w.steps };
    timing = await timeRuns(() => model.trainStep(batch, train), plan);
  }
  const info = model.info();
  const build = loadNative().buildInfo();
  report({
    ...timing,
    version: `${pkg.version} (${build.buildSystem} ${build.buildType}, ${build.compiler})`,
    threads: typeof build.threads === 'number' ? build.threads : 1,
    precision: `${info.dtype} (${info.backend})`,
    parameters: info.parameterCount,
  });
});
