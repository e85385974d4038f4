// softmax_xent and mse: loss values against a direct reference, gradients against finite
// differences in fp64 (with per-row weights, some zero), the in-place form, fp32 against fp64.
import { describe, expect, it } from 'vitest';
import { loadTestAddon } from './helpers/test-addon.js';
import { numericGrad, randInts, randn, relErr, rng } from './helpers/numeric.js';

const native = loadTestAddon();
type DT = 'float32' | 'float64';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const op = (name: string, dtype: DT, args: Record<string, unknown>): any => native.ops[name](dtype, args);

function xentRef(N: number, V: number, z: Float64Array, t: Int32Array, w: Float64Array | null) {
  let ls = 0, ws = 0, correct = 0;
  for (let n = 0; n < N; n++) {
    const wn = w ? w[n] : 1;
    let mx = -Infinity, am = 0;
    for (let v = 0; v < V; v++) if (z[n * V + v] > mx) { mx = z[n * V + v]; am = v; }
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(z[n * V + v] - mx);
    ls += wn * (mx + Math.log(s) - z[n * V + t[n]]);
    ws += wn;
    if (am === t[n]) correct += wn;
  }
  return { loss: ws === 0 ? 0 : ls / ws, correct };
}

describe('softmaxXent', () => {
  for (const [N, V, weighted] of [
    [1, 2, false],
    [1, 5, false],
    [7, 3, true],
    [5, 13, true],
    [9, 17, false],
  ] as Array<[number, number, boolean]>)
    it(`N=${N} V=${V}${weighted ? ' weighted (with zeros)' : ''}: loss, correct and dlogits`, () => {
      const r = rng(300 + N * 13 + V);
      const logits = randn(N * V, r, 3);
      const targets = randInts(N, V, r);
      let weights: Float64Array | null = null;
      if (weighted) {
        weights = Float64Array.from({ length: N }, () => 0.2 + 1.3 * r());
        weights[1] = 0;
        weights[N - 2] = 0;
      }
      const args = () => ({ N, V, logits, targets, ...(weights ? { weights } : {}) });
      const res = op('softmaxXent', 'float64', args());
      const ref = xentRef(N, V, logits, targets, weights);
      expect(Math.abs(res.loss - ref.loss)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(ref.loss)));
      expect(res.correct).toBeCloseTo(ref.correct, 12);
      const num = numericGrad(logits, () => op('softmaxXent', 'float64', args()).loss);
      expect(relErr(res.dlogits, num)).toBeLessThan(1e-6);
      // in place: dlogits aliases logits
      const inPlace = op('softmaxXent', 'float64', { ...args(), inPlace: true });
      expect(inPlace.loss).toBe(res.loss);
      expect(relErr(inPlace.dlogits, res.dlogits)).toBe(0);
      // fp32 against fp64
      const r32 = op('softmaxXent', 'float32', args());
      expect(Math.abs(r32.loss - res.loss) / Math.max(1e-30, Math.abs(res.loss))).toBeLessThan(1e-4);
      expect(relErr(r32.dlogits, res.dlogits)).toBeLessThan(1e-4);
      expect(r32.correct).toBeCloseTo(res.correct, 5);
    });

  it('is stable for huge logits and breaks argmax ties toward the lower index', () => {
    const N = 2, V = 4;
    const logits = new Float64Array([1000, 1000, -1000, 999, 0.5, 3, 3, -2]);
    const targets = new Int32Array([0, 2]);
    for (const dt of ['float32', 'float64'] as DT[]) {
      const res = op('softmaxXent', dt, { N, V, logits, targets });
      expect(Number.isFinite(res.loss)).toBe(true);
      const ref = xentRef(N, V, logits, targets, null);
      expect(Math.abs(res.loss - ref.loss)).toBeLessThan(1e-5);
      expect(res.correct).toBe(1); // row 0: tie at 0/1 -> 0 == target; row 1: tie 1/2 -> 1 != 2
      for (const v of res.dlogits) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('all-zero weights give loss 0 and zero gradient', () => {
    const r = rng(3);
    const N = 3, V = 4;
    const res = op('softmaxXent', 'float64', {
      N, V, logits: randn(N * V, r), targets: randInts(N, V, r), weights: new Float64Array(N),
    });
    expect(res.loss).toBe(0);
    expect(res.correct).toBe(0);
    expect(res.dlogits.every((v: number) => v === 0)).toBe(true);
  });
});

describe('mse', () => {
  for (const [N, D, weighted] of [
    [1, 1, false],
    [1, 6, true],
    [7, 3, true],
    [5, 9, false],
  ] as Array<[number, number, boolean]>)
    it(`N=${N} D=${D}${weighted ? ' weighted' : ''}: loss and dpred`, () => {
      const r = rng(400 + N * 17 + D);
      const pred = randn(N * D, r), target = randn(N * D, r);
      let weights: Float64Array | null = null;
      if (weighted) {
        weights = Float64Array.from({ length: N }, () => 0.1 + r());
        if (N > 2) weights[1] = 0;
      }
      const args = () => ({ N, D, pred, target, ...(weights ? { weights } : {}) });
      const res = op('mse', 'float64', args());
      let s = 0, ws = 0;
      for (let n = 0; n < N; n++) {
        const w = weights ? weights[n] : 1;
        ws += w;
        for (let d = 0; d < D; d++) s += w * (pred[n * D + d] - target[n * D + d]) ** 2;
      }
      expect(Math.abs(res.loss - s / (D * ws))).toBeLessThan(1e-14 * Math.max(1, s));
      const num = numericGrad(pred, () => op('mse', 'float64', args()).loss);
      expect(relErr(res.dpred, num)).toBeLessThan(1e-6);
      const inPlace = op('mse', 'float64', { ...args(), inPlace: true });
      expect(relErr(inPlace.dpred, res.dpred)).toBe(0);
      const r32 = op('mse', 'float32', args());
      expect(Math.abs(r32.loss - res.loss) / res.loss).toBeLessThan(1e-4);
      expect(relErr(r32.dpred, res.dpred)).toBeLessThan(1e-4);
    });
});
