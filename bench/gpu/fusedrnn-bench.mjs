// fusedrnn on the GPU for W1–W5 (../shared/BENCHMARKS.md): median/min/max of >= 20 timed runs
// after warm-up. Each trainStepSync ends by reading the loss (the step's one host sync), so the
// wall time of a step is the GPU time of the step plus one launch-to-sync round trip: an upper
// bound on the CUDA-event time PyTorch reports. Prints one JSON line per workload; a workload
// that throws prints a line with "error" and the others still run. Each line says which
// recurrent path ran ("recurrent", from the addon's counters) and, when FUSEDRNN_CUDA_RECURRENT
// is set, its value ("recurrentEnv"); --variant NAME tags the lines (run.sh's extra rows).
//   node bench/gpu/fusedrnn-bench.mjs --precision tf32|fp32 [--runs 20] [--backend cuda|cpu]
//                                     [--only W2,W4] [--variant NAME]
import { performance } from 'node:perf_hooks';
import { Model } from '../../dist/index.js';
import { loadNative } from '../../dist/native.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const precision = arg('precision', 'tf32');
const runs = Number(arg('runs', '20'));
const backend = arg('backend', 'cuda');
const only = arg('only', 'W1,W2,W3,W4,W5').split(',');
const variant = arg('variant', undefined);
const V = 83;

function seeded(seed) {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a ^ (a >>> 15), 2246822519) + 0x9e3779b9) >>> 0) / 4294967296);
}
const random = seeded(1);
const ints = (n, hi) => Int32Array.from({ length: n }, () => Math.floor(random() * hi));
const floats = (n) => Float32Array.from({ length: n }, () => random() * 2 - 1);

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], runs: s.length };
}
function time(fn, warmup = 5) {
  for (let i = 0; i < warmup; i++) fn();
  const out = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return stats(out);
}

const charModel = (cell, H) => Model.create({
  input: { type: 'oneHot', vocabSize: V },
  layers: [{ cell, units: H }, { cell, units: H }],
  dense: [{ units: V }],
  init: 'pytorch', seed: 1, backend, precision,
});
const train = { learningRate: 1e-3, clipNorm: 5 };

function trainWorkload(id, cell, H, B, T) {
  const m = charModel(cell, H);
  const batch = { inputs: ints(B * T, V), targets: ints(B * T, V), batchSize: B, steps: T };
  const r = time(() => m.trainStepSync(batch, train));
  return { id, unit: 'ms/step', ...r, info: m.info() };
}

async function generation() {
  const m = charModel('lstm', 256);
  const n = 500;
  const t = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    await m.generate(new Int32Array([1]), n, { temperature: 0.8, seed: i });
    if (i >= 2) t.push(((performance.now() - t0) * 1000) / n);
  }
  return { id: 'W4', unit: 'us/char', ...stats(t) };
}

function timeSeries() {
  const m = Model.create({
    input: { type: 'features', size: 1 },
    layers: [{ cell: 'lstm', units: 20 }, { cell: 'lstm', units: 20 }],
    output: 'last', dense: [{ units: 1 }], loss: 'mse', seed: 1, backend, precision,
  });
  const B = 64, T = 20;
  const batch = { inputs: floats(B * T), targets: floats(B), batchSize: B, steps: T };
  return { id: 'W5', unit: 'ms/step', ...time(() => m.trainStepSync(batch, { learningRate: 1e-3 })) };
}

const workloads = {
  W1: () => trainWorkload('W1', 'lstm', 256, 32, 50),
  W2: () => trainWorkload('W2', 'lstm', 512, 100, 100),
  W3: () => trainWorkload('W3', 'gru', 256, 32, 50),
  W4: generation,
  W5: timeSeries,
};
// The addon's per-path launch counters (absent in builds without the persistent kernels).
const counters = () => {
  try {
    return loadNative({ backend }).cudaRecurrentStats?.();
  } catch {
    return undefined;
  }
};
function pathRan(before, after) {
  if (!before || !after) return undefined;
  const d = (k) => after[k] - before[k];
  if (d('persistentDecode') > 0) return 'decoder';
  const p = d('persistentForward') + d('persistentBackward') > 0, s = d('stepwiseForward') + d('stepwiseBackward') > 0;
  return p && s ? 'mixed' : p ? 'persistent' : s ? 'stepwise' : 'none counted';
}
const env = process.env.FUSEDRNN_CUDA_RECURRENT;
for (const id of Object.keys(workloads).filter((w) => only.includes(w))) {
  const head = { library: 'fusedrnn', precision, id, ...(variant && { variant }), ...(env && { recurrentEnv: env }) };
  try {
    const before = counters();
    const r = await workloads[id]();
    console.log(JSON.stringify({ ...head, ...r, recurrent: pathRan(before, counters()) }));
  } catch (err) {
    console.log(JSON.stringify({ ...head, error: String(err?.message ?? err).slice(0, 300) }));
  }
}
