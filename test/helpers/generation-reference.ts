// The reduced-precision generation tests' reference (bf16-generation and int8-generation): a
// 2-layer LSTM + GRU model, random weights, and its greedy generation in float64 with each matrix
// product computed by a given rule over rounded operands.
import { Model, type ModelConfig } from '../../lib/index.js';
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

