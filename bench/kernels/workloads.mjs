// fusedrnn-only timings of the W1-W5 shapes (../shared/BENCHMARKS.md) on the fp32 CPU path, per
// kernel variant: warm-up, then median / min / max of --runs runs (default 7). Not part of
// npm test; the peer suite lives in bench/. Needs a build: npx cmake-js build && npx tsc.
//   node bench/kernels/workloads.mjs [--runs N] [--isa generic,avx2,avx512] [--only W1,W4]
import { performance } from 'node:perf_hooks';
import { Model } from '../../dist/index.js';
import { loadNative } from '../../dist/native.js';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const runs = Number(arg('--runs', 7));
const isas = arg('--isa', 'avx512,avx2,generic').split(',');
const only = arg('--only', 'W1,W2,W3,W4,W5').split(',');
const native = loadNative();

let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const tokens = (n, V) => Int32Array.from({ length: n }, () => Math.floor(rand() * V));

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}
async function time(fn, warm = 2) {
  for (let i = 0; i < warm; i++) await fn();
  const xs = [];
  for (let i = 0; i < runs; i++) { const t = performance.now(); await fn(); xs.push(performance.now() - t); }
  return stats(xs);
}
const charModel = (cell, H) => Model.create({
  input: { type: 'oneHot', vocabSize: 83 }, layers: [{ cell, units: H }, { cell, units: H }],
  dense: [{ units: 83 }], seed: 1, dtype: 'float32',
});
const trainOpts = { learningRate: 1e-3, clipNorm: 5 };

const workloads = {
  W1: async () => { const m = charModel('lstm', 256); const b = { inputs: tokens(1600, 83), targets: tokens(1600, 83), batchSize: 32, steps: 50 };
    return ['ms/step', await time(() => m.trainStepSync(b, trainOpts))]; },
  W2: async () => { const m = charModel('lstm', 512); const b = { inputs: tokens(10000, 83), targets: tokens(10000, 83), batchSize: 100, steps: 100 };
    return ['ms/step', await time(() => m.trainStepSync(b, trainOpts), 1)]; },
  W3: async () => { const m = charModel('gru', 256); const b = { inputs: tokens(1600, 83), targets: tokens(1600, 83), batchSize: 32, steps: 50 };
    return ['ms/step', await time(() => m.trainStepSync(b, trainOpts))]; },
  W4: async () => { const m = charModel('lstm', 256); const prime = tokens(1, 83);
    // 500 chars per call (the async hop is once per call): ms * 1000 / 500 = µs per char.
    const t = await time(() => m.generate(prime, 500, { temperature: 1, seed: 3 }), 1);
    return ['µs/char', { median: t.median * 2, min: t.min * 2, max: t.max * 2 }]; },
  W5: async () => { const m = Model.create({ input: { type: 'features', size: 1 }, layers: [{ cell: 'lstm', units: 20 }, { cell: 'lstm', units: 20 }],
      output: 'last', dense: [{ units: 1 }], loss: 'mse', seed: 1, dtype: 'float32' });
    const b = { inputs: Float64Array.from({ length: 64 * 20 }, rand), targets: Float64Array.from({ length: 64 }, rand), batchSize: 64, steps: 20 };
    return ['ms/step', await time(() => m.trainStepSync(b, { learningRate: 1e-3 }))]; },
};

console.log(`threads ${native.cpuIsa.threads()}, runs ${runs}`);
for (const isa of isas) {
  if (!native.cpuIsa.supported(isa)) { console.log(`${isa}: unsupported here, skipped`); continue; }
  native.cpuIsa.set(isa);
  for (const w of only) {
    const [unit, s] = await workloads[w]();
    console.log(`${isa.padEnd(8)} ${w}: median ${s.median.toFixed(2)} ${unit} (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)})`);
  }
}
