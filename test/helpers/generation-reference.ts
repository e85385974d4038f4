// The reduced-precision generation tests' reference (bf16-generation and int8-generation): a
// 2-layer LSTM + GRU model, random weights, and its greedy generation in float64 with each matrix
// product computed by a given rule over rounded operands.
import { expect } from 'vitest';
import { Model, type ModelConfig, type SampleOptions } from '../../lib/index.js';
import { randn, rng } from './numeric.js';

export const V = 23;
export const config = (dtype: 'float32' | 'float64' = 'float32'): ModelConfig => ({
  input: { type: 'oneHot', vocabSize: V },
  layers: [{ cell: 'lstm', units: 37 }, { cell: 'gru', units: 40 }],
  dense: [{ units: V }],
  seed: 11,
  dtype,
});

export type Params = Record<string, Float64Array>;
/** W [rows, x.length] · x in float64, by some rule over rounded operands. */
export type Product = (W: Float64Array, x: ArrayLike<number>, rows: number) => Float64Array;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The product of operands each rounded by `round`. */
export function roundedProduct(round: (v: number) => number): Product {
  return (W, x, rows) => {
    const cols = x.length;
    const xr = Array.from(x, round);
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += round(W[i * cols + k]) * xr[k];
      out[i] = s;
    }
    return out;
  };
}

/**
 * Greedy generation in float64 (PyTorch's LSTM and reset-after GRU), each product by `product`.
 * Returns the tokens and the smallest gap between the two largest logits.
 */
export function greedyReference(p: Params, prime: number, length: number, product: Product) {
  const [H0, H1] = [37, 40];
  let h0 = new Float64Array(H0), c0 = new Float64Array(H0), h1 = new Float64Array(H1);
  let token = prime;
  const tokens: number[] = [];
  let gap = Infinity;
  for (let s = 0; s < length; s++) {
    const x = new Float64Array(V);
    x[token] = 1;
    const a = product(p['rnn.weight_ih_l0'], x, 4 * H0).map((v, j) => v + p['rnn.bias_ih_l0'][j]);
    const r = product(p['rnn.weight_hh_l0'], h0, 4 * H0).map((v, j) => v + p['rnn.bias_hh_l0'][j]);
    const nextC = new Float64Array(H0), nextH = new Float64Array(H0);
    for (let k = 0; k < H0; k++) {
      const g = (q: number) => a[q * H0 + k] + r[q * H0 + k];
      nextC[k] = sigmoid(g(1)) * c0[k] + sigmoid(g(0)) * Math.tanh(g(2));
      nextH[k] = sigmoid(g(3)) * Math.tanh(nextC[k]);
    }
    [h0, c0] = [nextH, nextC];
    const ax = product(p['rnn.weight_ih_l1'], h0, 3 * H1).map((v, j) => v + p['rnn.bias_ih_l1'][j]);
    const ah = product(p['rnn.weight_hh_l1'], h1, 3 * H1).map((v, j) => v + p['rnn.bias_hh_l1'][j]);
    h1 = h1.map((prev, k) => {
      const reset = sigmoid(ax[k] + ah[k]);
      const update = sigmoid(ax[H1 + k] + ah[H1 + k]);
      const n = Math.tanh(ax[2 * H1 + k] + reset * ah[2 * H1 + k]);
      return (1 - update) * n + update * prev;
    });
    const logits = product(p['dense.weight'], h1, V).map((v, j) => v + p['dense.bias'][j]);
    const order = Array.from(logits.keys()).sort((i, j) => logits[j] - logits[i] || i - j);
    gap = Math.min(gap, logits[order[0]] - logits[order[1]]);
    token = order[0];
    tokens.push(token);
  }
  return { tokens, gap };
}

/** A model with larger random weights than its initializer's, so greedy paths are decisive. */
export function modelWithWeights(seed: number): { model: Model; params: Params } {
  const model = Model.create(config());
  const params: Params = {};
  model.params().forEach((info, i) => {
    const values = Float64Array.from(randn(info.shape.reduce((x, y) => x * y, 1), rng(seed + i), 0.6), (v) => Math.fround(v));
    model.setParam(info.name, values);
    params[info.name] = values;
  });
  return { model, params };
}


/**
 * The tokens of `lengths` chained generateChunk calls from `primes` (one per row), each chunk
 * primed with its rows' last draws: row-major, as one generate call of the summed length returns.
 */
export async function drawInChunks(model: Model, primes: Int32Array[], lengths: number[], options: SampleOptions): Promise<number[]> {
  let state = null;
  let prime = primes;
  const rows: number[][] = primes.map(() => []);
  for (const n of lengths) {
    const chunk = await model.generateChunk(prime, n, options, state);
    rows.forEach((r, b) => r.push(...chunk.tokens.subarray(b * n, (b + 1) * n)));
    state = chunk.state;
    prime = rows.map((r) => Int32Array.of(r[r.length - 1]));
  }
  return rows.flat();
}

/** The bytes of the weights' packed copies a generation in `precision` keeps, over fp32's. */
export async function packedBytesRatio(precision: 'bf16' | 'int8'): Promise<number> {
  const [a, b] = [Model.create(config()), Model.create(config())];
  const base = a.info().nativeBytes;
  await a.generate(Int32Array.of(1), 3, { seed: 1 });
  await b.generate(Int32Array.of(1), 3, { seed: 1, precision });
  const [fp32, reduced] = [a.info().nativeBytes - base, b.info().nativeBytes - base];
  a.dispose();
  b.dispose();
  expect(reduced).toBeGreaterThan(0);
  return reduced / fp32;
}

/** The draw rules the decoders are held to their per-character loops under. */
export const DECODE_SAMPLING: SampleOptions[] = [
  { greedy: true },
  { temperature: 0.8, seed: 11 },
  { temperature: 1.2, topK: 5, seed: 12 },
  { temperature: 1, topP: 0.9, seed: 13 },
];

/** Random weights of scale 2/√fan-in (larger than the initializer's, not saturating), so the draws vary. */
export function withRandomWeights(m: Model, seed: number): Model {
  m.params().forEach((info, i) => {
    const n = info.shape.reduce((x, y) => x * y, 1);
    const scale = 2 / Math.sqrt(info.shape[info.shape.length - 1]);
    m.setParam(info.name, Float64Array.from(randn(n, rng(seed * 100 + i), scale), (v) => Math.fround(v)));
  });
  return m;
}

/**
 * M x N x K (transB) of the reduced-precision product tests: one row (generation), odd and
 * sub-panel sizes, K odd (half a bf16 pair) and off the int8 quads, N off the 32-column panels
 * and the 4-panel passes, products split over the pool, and rows of the same product.
 */
export const REDUCED_PRODUCT_SIZES: Array<[number, number, number, boolean]> = [
  [1, 1, 1, true],
  [1, 37, 19, true],
  [3, 70, 83, true],
  [1, 1024, 256, true],
  [5, 33, 64, false],
  [2, 129, 7, false],
  [1, 4 * 151, 151, true],
  [1, 4 * 151, 150, true],
];
