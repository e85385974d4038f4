// The five workloads of ../shared/BENCHMARKS.md, defined once for every runner (the Python runner
// receives the same object as JSON). Data are random but fixed (seeded), never zeros.

import { seededRandom } from '../dist/index.js';

export const WORKLOADS = {
  W1: { id: 'W1', kind: 'train-char', cell: 'lstm', vocab: 83, hidden: 256, layers: 2, batch: 32, steps: 50, unit: 'ms/step',
    what: 'char-LSTM training step, one-hot input, 2x LSTM, dense on every step, softmax CE mean over B*T, clip 5, Adam 1e-3' },
  W2: { id: 'W2', kind: 'train-char', cell: 'lstm', vocab: 83, hidden: 512, layers: 2, batch: 100, steps: 100, unit: 'ms/step',
    what: 'W1 at the textbook size' },
  W3: { id: 'W3', kind: 'train-char', cell: 'gru', vocab: 83, hidden: 256, layers: 2, batch: 32, steps: 50, unit: 'ms/step',
    what: 'W1 with GRU cells' },
  W4: { id: 'W4', kind: 'generate', cell: 'lstm', vocab: 83, hidden: 256, layers: 2, batch: 1, chars: 500, temperature: 0.8, unit: 'us/char',
    what: 'generation with the W1 model, batch 1, 500 chars one at a time, softmax with temperature and a random draw each step' },
  W5: { id: 'W5', kind: 'train-series', cell: 'lstm', input: 1, hidden: 20, layers: 2, batch: 64, steps: 20, unit: 'ms/step',
    what: 'time series: 2x LSTM H=20, last step, dense to 1 value, MSE, Adam 1e-3, clip 5' },
};

export const LEARNING_RATE = 1e-3;
export const CLIP_NORM = 5;
export const FORGET_BIAS = 1;

/**
 * How many runs: BENCHMARKS.md asks for one warm-up and at least 5 timed runs. Timed runs go on
 * until there are `runs` of them and they took `minSeconds` together (at most `maxRuns`), the same
 * rule for every peer: five runs of a 1 ms step are its first milliseconds, while the scheduler
 * and the CPU's clocks still settle; a second of them is the step a training loop repeats. A peer
 * whose warm-up alone exceeds `budgetSeconds` is reported with that single run (flagged), because
 * tfjs's cpu backend takes minutes per W2 step and would otherwise dominate the whole bench.
 */
export function runPlan(quick) {
  return quick
    ? { warmup: 1, runs: 3, minSeconds: 0.2, maxRuns: 1000, budgetSeconds: 5, workloads: ['W1', 'W3', 'W4', 'W5'], generateChars: 100 }
    : { warmup: 1, runs: 5, minSeconds: 1, maxRuns: 1000, budgetSeconds: 60, workloads: ['W1', 'W2', 'W3', 'W4', 'W5'], generateChars: 500 };
}

// fusedrnn's own seeded generator (mulberry32), so every JS runner draws the same data.
export { seededRandom };

/** Token ids [B*T] and next-token targets, uniform over the vocabulary. */
export function charBatch(w, seed = 1) {
  const rand = seededRandom(seed);
  const n = w.batch * w.steps;
  const inputs = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    inputs[i] = Math.floor(rand() * w.vocab);
    targets[i] = Math.floor(rand() * w.vocab);
  }
  return { inputs, targets };
}

/** Windows of a noisy sine [B*T*1] and the value after each window [B]. */
export function seriesBatch(w, seed = 1) {
  const rand = seededRandom(seed);
  const inputs = new Float32Array(w.batch * w.steps * w.input);
  const targets = new Float32Array(w.batch);
  for (let b = 0; b < w.batch; b++) {
    const phase = rand() * 2 * Math.PI;
    for (let t = 0; t <= w.steps; t++) {
      const v = Math.sin(phase + 0.3 * t) + 0.05 * (rand() - 0.5);
      if (t < w.steps) inputs[b * w.steps + t] = v;
      else targets[b] = v;
    }
  }
  return { inputs, targets };
}

/** Draws an index from unnormalised logits / temperature (what every peer does per character). */
export function drawFromLogits(logits, temperature, rand) {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  const p = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp((logits[i] - max) / temperature);
  let r = rand() * sum;
  for (let i = 0; i < p.length; i++) if ((r -= p[i]) <= 0) return i;
  return p.length - 1;
}
