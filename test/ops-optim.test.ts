// global_norm_clip and Adam/AdamW: PyTorch's golden clip_adam / clip_adamw (three steps of
// clip_grad_norm_ then Adam/AdamW, float64), the parameter lists flattened into one arena the way
// the executor calls the ops; plus edge cases and fp32 against fp64.
import { describe, expect, it } from 'vitest';
import { loadTestAddon } from './helpers/test-addon.js';
import { f64, loadGolden, randn, relErr, rng, type GoldenTensor } from './helpers/numeric.js';

const native = loadTestAddon();
type DT = 'float32' | 'float64';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const op = (name: string, dtype: DT, args: Record<string, unknown>): any => native.ops[name](dtype, args);

function flat(list: GoldenTensor[]): Float64Array {
  const parts = list.map(f64);
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

for (const name of ['clip_adam', 'clip_adamw']) {
  describe(`golden ${name}`, () => {
    for (const [dtype, tol] of [
      ['float64', 1e-10],
      ['float32', 1e-5],
    ] as Array<[DT, number]>)
      it(`${dtype}: norm, clipped grads and params after each of three steps (tol ${tol})`, () => {
        const g = loadGolden(name);
        const cfg = {
          lr: g.config.lr,
          beta1: g.config.betas[0],
          beta2: g.config.betas[1],
          eps: g.config.eps,
          weightDecay: g.config.weight_decay ?? 0,
          decoupled: name === 'clip_adamw',
        };
        let params = flat(g.inputs.params0);
        let m = new Float64Array(params.length);
        let v = new Float64Array(params.length);
        expect(g.steps.length).toBe(3);
        g.steps.forEach((want: any, k: number) => {
          const grads = flat(g.inputs.grads[k]);
          const { norm, scale } = op('globalNormClip', dtype, { g: grads, maxNorm: g.config.max_norm });
          expect(Math.abs(norm - want.total_norm_before_clip) / want.total_norm_before_clip).toBeLessThan(tol);
          expect(scale).toBeLessThan(1); // these cases do clip
          const clipped = grads.map((x) => x * scale);
          expect(relErr(clipped, flat(want.clipped_grads))).toBeLessThan(tol);
          const res = op('adam', dtype, { params, grads, m, v, cfg, step: k + 1, gradScale: scale });
          params = res.params;
          m = res.m;
          v = res.v;
          expect(relErr(params, flat(want.params_after))).toBeLessThan(tol);
        });
      });
  });
}

describe('globalNormClip', () => {
  it('does not scale when under the limit or when maxNorm <= 0; fp32 agrees with fp64', () => {
    const r = rng(7);
    // 1001 and a size spanning several of the fp32 path's 16384-element chunks (split over the pool).
    for (const g of [randn(1001, r, 0.01), randn(3 * 16384 + 77, r, 0.003)]) {
      const ref = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
      for (const dt of ['float64', 'float32'] as DT[]) {
        const a = op('globalNormClip', dt, { g, maxNorm: 100 });
        expect(Math.abs(a.norm - ref) / ref).toBeLessThan(dt === 'float64' ? 1e-14 : 1e-6);
        expect(a.scale).toBe(1);
        const b = op('globalNormClip', dt, { g, maxNorm: 0 });
        expect(b.scale).toBe(1);
        const c = op('globalNormClip', dt, { g, maxNorm: 0.05 });
        expect(Math.abs(c.scale - 0.05 / (ref + 1e-6))).toBeLessThan(1e-6);
      }
    }
  });

  it('a non-finite norm gives a NaN scale (the skip signal), with or without clipping', () => {
    for (const maxNorm of [1, 0]) {
      const a = op('globalNormClip', 'float64', { g: new Float64Array([1, NaN, 2]), maxNorm });
      expect(Number.isNaN(a.norm)).toBe(true);
      expect(Number.isNaN(a.scale)).toBe(true);
      const b = op('globalNormClip', 'float32', { g: new Float64Array([1, Infinity]), maxNorm });
      expect(b.norm).toBe(Infinity);
      expect(Number.isNaN(b.scale)).toBe(true);
      const late = new Float64Array(2 * 16384 + 5).fill(0.5);
      late[late.length - 2] = NaN;  // in the last chunk
      expect(Number.isNaN(op('globalNormClip', 'float32', { g: late, maxNorm }).scale)).toBe(true);
    }
  });

  it('adam with a non-finite grad scale leaves params and moments untouched', () => {
    const r = rng(77);
    const [params, grads, m, v] = [0, 1, 2, 3].map(() => Float64Array.from({ length: 9 }, () => r() + 0.1));
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: true };
    for (const dtype of ['float32', 'float64'] as const) {
      for (const gradScale of [NaN, Infinity]) {
        const got = op('adam', dtype, { params, grads, m, v, cfg, step: 3, gradScale });
        expect(relErr(got.params, params)).toBeLessThan(1e-7);
        expect(relErr(got.m, m)).toBeLessThan(1e-7);
        expect(relErr(got.v, v)).toBeLessThan(1e-7);
      }
    }
  });
});

describe('adam', () => {
  function adamRef(p: Float64Array, gr: Float64Array, m: Float64Array, v: Float64Array, c: any, step: number, gs: number) {
    const P = Float64Array.from(p), M = Float64Array.from(m), Vv = Float64Array.from(v);
    const bc1 = 1 - c.beta1 ** step, bc2 = 1 - c.beta2 ** step;
    for (let i = 0; i < p.length; i++) {
      let g = gr[i] * gs;
      if (c.decoupled) P[i] *= 1 - c.lr * c.weightDecay;
      else g += c.weightDecay * P[i];
      M[i] = c.beta1 * M[i] + (1 - c.beta1) * g;
      Vv[i] = c.beta2 * Vv[i] + (1 - c.beta2) * g * g;
      P[i] -= (c.lr / bc1) * M[i] / (Math.sqrt(Vv[i]) / Math.sqrt(bc2) + c.eps);
    }
    return { params: P, m: M, v: Vv };
  }

  for (const decoupled of [false, true])
    it(`${decoupled ? 'AdamW' : 'Adam'} with weight decay and grad scale matches the formula; fp32 agrees`, () => {
      const r = rng(decoupled ? 11 : 12);
      const n = 2 * 16384 + 37;  // several chunks of the pool's split
      const params = randn(n, r), grads = randn(n, r), m = randn(n, r, 0.1);
      const v = Float64Array.from(randn(n, r, 0.1), (x) => x * x);
      const cfg = { lr: 0.003, beta1: 0.8, beta2: 0.99, eps: 1e-7, weightDecay: 0.05, decoupled };
      const step = 4, gradScale = 0.7;
      const want = adamRef(params, grads, m, v, cfg, step, gradScale);
      const got = op('adam', 'float64', { params, grads, m, v, cfg, step, gradScale });
      for (const k of ['params', 'm', 'v'] as const) expect(relErr(got[k], want[k])).toBeLessThan(1e-14);
      const got32 = op('adam', 'float32', { params, grads, m, v, cfg, step, gradScale });
      for (const k of ['params', 'm', 'v'] as const) expect(relErr(got32[k], want[k])).toBeLessThan(1e-4);
      // the update itself (params - before) agrees in fp32 too
      const d64 = got.params.map((x: number, i: number) => x - params[i]);
      const d32 = got32.params.map((x: number, i: number) => x - params[i]);
      expect(relErr(d32, d64)).toBeLessThan(1e-4);
    });

  it('defaults to PyTorch Adam (lr 1e-3) when cfg and gradScale are absent', () => {
    const r = rng(13);
    const n = 5;
    const params = randn(n, r), grads = randn(n, r);
    const got = op('adam', 'float64', { params, grads, m: new Float64Array(n), v: new Float64Array(n), step: 1 });
    // first step: m/sqrt(v) after bias correction is sign(g) (up to eps), so each param moves by ~lr
    for (let i = 0; i < n; i++) expect(params[i] - got.params[i]).toBeCloseTo(1e-3 * Math.sign(grads[i]), 8);
  });
});
