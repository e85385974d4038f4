// Small whole-model runs of every cell variant on the CUDA backend, for compute-sanitizer
// (memcheck, racecheck): ragged lengths, bidirectional, dropout, both heads, generation.
import { Model } from '../../dist/index.js';

const V = 7;
const ints = (n, hi, s) => Int32Array.from({ length: n }, (_, i) => (i * 2654435761 + s) % hi >>> 0);
const layers = [
  { cell: 'lstm', units: 13, peephole: true, dropoutOutput: 0.2 },
  { cell: 'gru', units: 9, bidirectional: true },
  { cell: 'gru', units: 5, resetBefore: true },
  { cell: 'rnn', units: 6, activation: 'relu' },
];
for (const output of ['sequence', 'last']) {
  const m = Model.create({
    input: { type: 'embedding', vocabSize: V, dim: 4 }, layers, output, dense: [{ units: 5, activation: 'tanh' }, { units: V }],
    seed: 3, backend: process.env.SMOKE_BACKEND ?? 'cuda', precision: 'tf32',
  });
  const B = 3, T = 5;
  const rows = output === 'sequence' ? B * T : B;
  const batch = { inputs: ints(B * T, V, 1), targets: ints(rows, V, 2), batchSize: B, steps: T, lengths: new Int32Array([5, 1, 3]) };
  for (let i = 0; i < 2; i++) m.trainStepSync(batch, { learningRate: 1e-3, clipNorm: 1, carryState: true });
  m.dispose();
}
// Generation (unidirectional only): the sample kernel with top-k.
const g = Model.create({
  input: { type: 'oneHot', vocabSize: V }, layers: [layers[0], layers[2]], dense: [{ units: V }],
  seed: 4, backend: process.env.SMOKE_BACKEND ?? 'cuda', precision: 'fp32',
});
await g.generate(new Int32Array([1, 2]), 4, { topK: 3, topP: 0.9, seed: 1 });
g.dispose();
console.log('sanitize-smoke: done');
