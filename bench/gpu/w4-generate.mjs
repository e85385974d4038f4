// W4 alone (2-layer LSTM H=256, one-hot V=83, batch 1, temperature 0.8, 500 chars): µs/char, median of 10
// after 2 warm-up calls. Compare the decoder with the per-character loop:
//   node bench/gpu/w4-generate.mjs; FUSEDRNN_CUDA_RECURRENT=stepwise node bench/gpu/w4-generate.mjs
// Env W4_BACKEND (cuda), W4_PRECISION (tf32). Needs dist/ (npx tsc -p tsconfig.json).
import { performance } from 'node:perf_hooks';
import { Model } from '../../dist/index.js';
const backend = process.env.W4_BACKEND ?? 'cuda';
const precision = backend === 'cuda' ? (process.env.W4_PRECISION ?? 'tf32') : undefined;
const m = Model.create({ input: { type: 'oneHot', vocabSize: 83 }, layers: [{ cell: 'lstm', units: 256 }, { cell: 'lstm', units: 256 }], dense: [{ units: 83 }], init: 'pytorch', seed: 1, backend, precision });
const t = [];
for (let i = 0; i < 12; i++) {
  const t0 = performance.now();
  await m.generate(new Int32Array([1]), 500, { temperature: 0.8, seed: i });
  if (i >= 2) t.push(((performance.now() - t0) * 1000) / 500);
}
t.sort((a, b) => a - b);
console.log(`W4 ${backend} ${precision ?? ''} ${process.env.FUSEDRNN_CUDA_RECURRENT ?? 'auto'}: median ${t[5].toFixed(2)} us/char, min ${t[0].toFixed(2)}`);
