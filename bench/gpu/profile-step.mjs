// One W1–W5 step (or a few W4 characters) on the CUDA backend, for a profiler to break down by
// kernel: ncu --metrics gpu__time_duration.sum --print-summary per-kernel node bench/gpu/profile-step.mjs W2
import { Model } from '../../dist/index.js';

const workload = process.argv[2] ?? 'W2';
const precision = process.argv[3] ?? 'tf32';
const sizes = { W1: ['lstm', 256, 32, 50], W2: ['lstm', 512, 100, 100], W3: ['gru', 256, 32, 50], W4: ['lstm', 256, 1, 1] };
if (!(workload in sizes)) throw new RangeError(`workload must be one of ${Object.keys(sizes).join(', ')}`);
const [cell, H, B, T] = sizes[workload];
const V = 83;
const model = Model.create({
  input: { type: 'oneHot', vocabSize: V },
  layers: [{ cell, units: H }, { cell, units: H }],
  dense: [{ units: V }],
  init: 'pytorch', seed: 1, backend: 'cuda', precision,
});
const ints = (n) => Int32Array.from({ length: n }, (_, i) => (i * 2654435761) % V >>> 0);
if (workload === 'W4') await model.generate(ints(1), 20, { temperature: 1, seed: 1 });
else model.trainStepSync({ inputs: ints(B * T), targets: ints(B * T), batchSize: B, steps: T }, { learningRate: 1e-3, clipNorm: 5 });
model.dispose();
console.log(`profiled one ${workload} ${workload === 'W4' ? 'generate(20)' : 'train step'} (${precision})`);
