// fusedrnn through its public API (dist/, built by `npx tsc`): the same models and settings as the
// peers. One-hot input for the char workloads (as the textbook and the tfjs/PyTorch runners).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Model, nativeStatus, loadNative } from '../../dist/index.js';
import { CLIP_NORM, FORGET_BIAS, LEARNING_RATE, charBatch, seriesBatch } from '../workloads.mjs';
import { report, runMain, timeRuns, unavailable } from './harness.mjs';

/**
 * The W4 floor if every character had to stream all weights (4 bytes a parameter, 2 in bf16, 1 in int8): their bytes over the read
 * bandwidth of a buffer that size, measured here with memcpy (Buffer.copy: native, vectorised; a
 * copy reads and writes, so reads count half its bytes moved... we count only the bytes read).
 */
function weightStreamingBound(parameterCount, bytesPerParameter) {
  const bytes = parameterCount * bytesPerParameter;
  const whole = Buffer.alloc(bytes, 7);
  const a = whole.subarray(0, bytes >> 1);
  const b = whole.subarray(bytes >> 1, 2 * (bytes >> 1));
  const passes = Math.max(20, Math.ceil(2e9 / bytes));
  let same = 0;
  for (let i = 0; i < 5; i++) same += a.equals(b);
  const times = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < passes; i++) same += a.equals(b);
    times.push(performance.now() - t);
  }
  if (same !== 5 + 5 * passes) throw new Error('memcmp bandwidth probe: the halves compared unequal');
  const readGBs = (2 * (bytes >> 1) * passes) / (Math.min(...times) / 1000) / 1e9;
  return { weightBytes: bytes, readGBs, usPerChar: (bytes / (readGBs * 1e9)) * 1e6, how: `all parameter bytes at ${bytesPerParameter} a parameter (one-hot input reads only one column of weight_ih_l0, so slightly fewer are needed) / memcmp read bandwidth over a buffer that size (one thread, best of 5)` };
}

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
  }
  const model = Model.create(config(w, backend));
  const train = { learningRate: LEARNING_RATE, clipNorm: CLIP_NORM };
  let timing;
  if (w.kind === 'generate') {
    const chars = plan.generateChars;
    let seed = 1;
    // One prime token, then `chars` draws: the per-character cost of the sampling loop.
    const precision = options.precision ?? 'fp32';
    timing = await timeRuns(() => model.generate(Int32Array.of(5), chars, { temperature: w.temperature, seed: seed++, precision }), plan, (ms) => (ms * 1000) / chars);
  } else {
    const data = w.kind === 'train-series' ? seriesBatch(w) : charBatch(w);
    const batch = { ...data, batchSize: w.batch, steps: w.steps };
    timing = await timeRuns(() => model.trainStep(batch, train), plan);
  }
  const info = model.info();
  const reduced = w.kind === 'generate' && options.precision !== undefined && options.precision !== 'fp32' ? options.precision : undefined;
  if (w.kind === 'generate') timing.bound = weightStreamingBound(info.parameterCount, { bf16: 2, int8: 1 }[reduced] ?? 4);
  const build = loadNative().buildInfo();
  report({
    ...timing,
    version: `${pkg.version} (${build.buildSystem} ${build.buildType}, ${build.compiler})`,
    threads: backend === 'cpu' ? loadNative().cpuIsa.threads() : 1,  // the CPU kernels' pool (caller included)
    precision: info.backend === 'cuda' ? `${info.dtype} (cuda, ${info.precision})` : reduced ? `${info.dtype}, ${reduced} products (cpu)` : `${info.dtype} (${info.backend})`,
    parameters: info.parameterCount,
  });
});
