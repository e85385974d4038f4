// µs per layer-timestep of one LSTM layer at W2's sizes (H=512, B=100, I=512) on the CUDA backend,
// forward and backward, for each recurrent path (FUSEDRNN_CUDA_RECURRENT=persistent|stepwise, read
// by the addon on every call) and precision. Method: (time at T=100 − time at T=1) ÷ 99, medians of
// --runs interleaved pairs; the subtraction removes everything that does not grow with T (launch
// and sync, dense, loss, Adam). Forward: evaluateSync; backward: trainStepSync minus that.
// Through a Model, not the op harness (ops.rnnForward/rnnBackward): the harness converts and
// copies x, y, dy and dx between host and device on every call, which grows with T and would
// dwarf the ~0.5 ms the recurrence costs per call here. The model's input is an embedding of
// width 512 (I=512 for tokens of 4 bytes each; its gather/scatter is ~0.1 µs per step) and its
// output the last step only. One JSON line per (path, precision, direction).
//   node bench/gpu/step-microbench.mjs [--runs 20] [--precision tf32,fp32] [--paths persistent,stepwise]
//                                      [--backend cuda|cpu]  (cpu: only to smoke-test this script)
import { performance } from 'node:perf_hooks';
import { Model } from '../../dist/index.js';
import { loadNative } from '../../dist/native.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(arg('runs', '20'));
const precisions = arg('precision', 'tf32,fp32').split(',');
const paths = arg('paths', 'persistent,stepwise').split(',');
const backend = arg('backend', 'cuda');
const V = 83, H = 512, B = 100, LONG = 100;
const addon = loadNative({ backend });
const opts = { learningRate: 1e-3, clipNorm: 5 };

const batch = (T) => ({
  inputs: Int32Array.from({ length: B * T }, (_, i) => (i * 2654435761) % V >>> 0),
  targets: Int32Array.from({ length: B }, (_, i) => (i * 40503) % V),
  batchSize: B, steps: T,
});
const short = batch(1), long = batch(LONG);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const wall = (fn) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
// Which path the counters saw during fn (the env only asks; auto may fall back).
function ran(fn) {
  const before = addon.cudaRecurrentStats?.();
  fn();
  const after = addon.cudaRecurrentStats?.();
  if (!before || !after) return 'unknown';
  const p = after.persistentForward - before.persistentForward, s = after.stepwiseForward - before.stepwiseForward;
  return p && s ? 'mixed' : p ? 'persistent' : s ? 'stepwise' : 'none counted';
}

for (const precision of precisions) {
  const m = Model.create({
    input: { type: 'embedding', vocabSize: V, dim: 512 },
    layers: [{ cell: 'lstm', units: H }],
    output: 'last', dense: [{ units: V }],
    init: 'pytorch', seed: 1, backend, precision,
  });
  const train = () => m.trainStepSync(long, opts), trainShort = () => m.trainStepSync(short, opts);
  for (const path of paths) {
    process.env.FUSEDRNN_CUDA_RECURRENT = path;
    const head = { library: 'fusedrnn', id: 'layer-step', precision, path, B, H, I: 512 };
    try {
      const recurrent = ran(train);
      for (let i = 0; i < 3; i++) { m.evaluateSync(short); m.evaluateSync(long); trainShort(); train(); }
      const f = [], t = [];
      for (let i = 0; i < runs; i++) {
        f.push(wall(() => m.evaluateSync(long)) - wall(() => m.evaluateSync(short)));
        t.push(wall(train) - wall(trainShort));
      }
      const fwd = (median(f) * 1000) / (LONG - 1), both = (median(t) * 1000) / (LONG - 1);
      console.log(JSON.stringify({ ...head, recurrent, direction: 'forward', us_per_step: fwd }));
      console.log(JSON.stringify({ ...head, recurrent, direction: 'backward', us_per_step: both - fwd }));
    } catch (err) {
      console.log(JSON.stringify({ ...head, direction: 'both', error: String(err?.message ?? err).slice(0, 300) }));
    }
  }
  m.dispose();
}
