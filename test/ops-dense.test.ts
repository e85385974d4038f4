// copy_rows, dense, embedding and one_hot: finite-difference gradients in fp64, reference
// forward values, accumulation semantics, and fp32 against fp64.
import { describe, expect, it } from 'vitest';
import { loadTestAddon } from './helpers/test-addon.js';
import { numericGrad, randInts, randn, relErr, rng } from './helpers/numeric.js';

const native = loadTestAddon();
type DT = 'float32' | 'float64';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const op = (name: string, dtype: DT, args: Record<string, unknown>): any => native.ops[name](dtype, args);

describe('copyRows', () => {
  it('copies and accumulates strided rows like the reference loop', () => {
    const r = rng(1);
    const rows = 5, cols = 3, lds = 7, ldd = 4;
    const src = randn((rows - 1) * lds + cols, r);
    const dst = randn((rows - 1) * ldd + cols, r);
    for (const accumulate of [false, true]) {
      const want = Float64Array.from(dst);
      for (let i = 0; i < rows; i++)
        for (let c = 0; c < cols; c++) want[i * ldd + c] = (accumulate ? want[i * ldd + c] : 0) + src[i * lds + c];
      const got = op('copyRows', 'float64', { rows, cols, src, lds, dst, ldd, accumulate }).dst;
      expect(relErr(got, want)).toBe(0);
      const got32 = op('copyRows', 'float32', { rows, cols, src, lds, dst, ldd, accumulate }).dst;
      expect(relErr(got32, want)).toBeLessThan(1e-6);
    }
  });
});

function denseRef(N: number, I: number, O: number, act: string, x: Float64Array, W: Float64Array, b: Float64Array) {
  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      let s = b[o];
      for (let i = 0; i < I; i++) s += x[n * I + i] * W[o * I + i];
      y[n * O + o] = act === 'tanh' ? Math.tanh(s) : s;
    }
  return y;
}

describe('dense', () => {
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 5, 3],
    [5, 7, 3],
    [3, 9, 11],
  ];
  for (const act of ['linear', 'tanh'])
    for (const [N, I, O] of shapes)
      it(`${act} N=${N} I=${I} O=${O}: forward matches reference, dx/dW/db match finite differences`, () => {
        const r = rng(100 + N * 31 + I * 7 + O);
        const x = randn(N * I, r), W = randn(O * I, r, 0.7), b = randn(O, r, 0.5), R = randn(N * O, r);
        const fwd = (dt: DT = 'float64') => op('denseForward', dt, { N, I, O, act, x, W, b }).y as Float64Array;
        const y = fwd();
        expect(relErr(y, denseRef(N, I, O, act, x, W, b))).toBeLessThan(1e-14);
        const L = () => {
          const yy = fwd();
          let s = 0;
          for (let k = 0; k < yy.length; k++) s += yy[k] * R[k];
          return s;
        };
        const dW0 = randn(O * I, r), db0 = randn(O, r);
        const g = op('denseBackward', 'float64', { N, I, O, act, x, W, y, dy: R, dW: dW0, db: db0 });
        const dW = g.dW.map((v: number, k: number) => v - dW0[k]);
        const db = g.db.map((v: number, k: number) => v - db0[k]);
        expect(relErr(g.dx, numericGrad(x, L))).toBeLessThan(1e-6);
        expect(relErr(dW, numericGrad(W, L))).toBeLessThan(1e-6);
        expect(relErr(db, numericGrad(b, L))).toBeLessThan(1e-6);
        // dy is overwritten with the pre-activation gradient
        const pre = act === 'tanh' ? R.map((v, k) => v * (1 - y[k] * y[k])) : R;
        expect(relErr(g.dyPre, pre)).toBeLessThan(1e-14);
        // fp32 against fp64
        const y32 = fwd('float32');
        expect(relErr(y32, y)).toBeLessThan(1e-4);
        const g32 = op('denseBackward', 'float32', { N, I, O, act, x, W, y, dy: R, dW: dW0, db: db0 });
        for (const k of ['dx', 'dW', 'db', 'dyPre']) expect(relErr(g32[k], g[k])).toBeLessThan(1e-4);
      });

  it('works without a bias and without dx', () => {
    const r = rng(9);
    const N = 3, I = 4, O = 2;
    const x = randn(N * I, r), W = randn(O * I, r);
    const y = op('denseForward', 'float64', { N, I, O, act: 'linear', x, W }).y;
    expect(relErr(y, denseRef(N, I, O, 'linear', x, W, new Float64Array(O)))).toBeLessThan(1e-14);
    const dy = randn(N * O, r);
    const g = op('denseBackward', 'float64', { N, I, O, act: 'linear', x, W, y, dy, bias: false, dx: false });
    expect(g.db).toBeUndefined();
    expect(g.dx).toBeUndefined();
    const full = op('denseBackward', 'float64', { N, I, O, act: 'linear', x, W, y, dy });
    expect(relErr(g.dW, full.dW)).toBe(0);
  });
});

describe('embedding and oneHot', () => {
  for (const [N, V, E] of [
    [1, 3, 5],
    [9, 4, 3],
    [13, 7, 1],
  ])
    it(`N=${N} V=${V} E=${E} (repeated tokens): forward gathers, backward scatter-adds (finite differences)`, () => {
      const r = rng(200 + N + V + E);
      const tokens = randInts(N, V, r);
      if (N > 2) tokens[N - 1] = tokens[0]; // make sure a token repeats
      const table = randn(V * E, r), R = randn(N * E, r);
      const out = op('embeddingForward', 'float64', { N, V, E, tokens, table }).out;
      for (let n = 0; n < N; n++)
        for (let e = 0; e < E; e++) expect(out[n * E + e]).toBe(table[tokens[n] * E + e]);
      const L = () => {
        const o = op('embeddingForward', 'float64', { N, V, E, tokens, table }).out;
        let s = 0;
        for (let k = 0; k < o.length; k++) s += o[k] * R[k];
        return s;
      };
      const init = randn(V * E, r);
      const dt = op('embeddingBackward', 'float64', { N, V, E, tokens, dout: R, dtable: init }).dtable;
      const grad = dt.map((v: number, k: number) => v - init[k]);
      expect(relErr(grad, numericGrad(table, L))).toBeLessThan(1e-6);
      // fp32 against fp64
      expect(relErr(op('embeddingForward', 'float32', { N, V, E, tokens, table }).out, out)).toBeLessThan(1e-4);
      const dt32 = op('embeddingBackward', 'float32', { N, V, E, tokens, dout: R, dtable: init }).dtable;
      expect(relErr(dt32, dt)).toBeLessThan(1e-4);
    });

  it('oneHot sets exactly one 1 per row, in both precisions', () => {
    const r = rng(5);
    const N = 11, V = 6;
    const tokens = randInts(N, V, r);
    for (const dt of ['float32', 'float64'] as DT[]) {
      const out = op('oneHot', dt, { N, V, tokens }).out;
      expect(out.length).toBe(N * V);
      for (let n = 0; n < N; n++)
        for (let v = 0; v < V; v++) expect(out[n * V + v]).toBe(v === tokens[n] ? 1 : 0);
    }
  });
});
