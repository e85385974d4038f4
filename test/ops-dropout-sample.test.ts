// Dropout (Philox masks) and token sampling: determinism in (seed, offset), the mask/draw
// contracts of ops.h checked against an independent Philox4x32-10 in JS, statistics, and
// agreement of fp32 and fp64.
import { describe, expect, it } from 'vitest';
import { loadTestAddon } from './helpers/test-addon.js';
import { numericGrad, randn, relErr, rng } from './helpers/numeric.js';

const native = loadTestAddon();
type DT = 'float32' | 'float64';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const op = (name: string, dtype: DT, args: Record<string, unknown>): any => native.ops[name](dtype, args);

/** Philox4x32-10 as in native/philox.h, in BigInt arithmetic. */
function philox(seed: number, counter: number, stream: number): number[] {
  const s = BigInt(seed), c = BigInt(counter), M = 0xffffffffn;
  let k0 = Number(s & M), k1 = Number((s >> 32n) & M);
  let c0 = Number(c & M), c1 = Number((c >> 32n) & M), c2 = stream, c3 = 0;
  for (let round = 0; round < 10; round++) {
    const p0 = 0xd2511f53n * BigInt(c0), p1 = 0xcd9e8d57n * BigInt(c2);
    const hi0 = Number(p0 >> 32n), lo0 = Number(p0 & M), hi1 = Number(p1 >> 32n), lo1 = Number(p1 & M);
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}
const philoxUniform = (seed: number, counter: number, stream: number) => (philox(seed, counter, stream)[0] >>> 8) / 16777216;
const kStreamDropout = 1, kStreamSample = 2;

describe('dropout', () => {
  const seed = 0x1234_5678_9abc, offset = 2 ** 40 + 17;

  it('keeps element i iff philox_uniform(seed, offset+i) >= p and scales by 1/(1-p)', () => {
    const r = rng(21);
    const n = 257, p = 0.35;
    const x = randn(n, r);
    const y = op('dropoutForward', 'float64', { p, seed, offset, x }).y;
    for (let i = 0; i < n; i++) {
      const keep = philoxUniform(seed, offset + i, kStreamDropout) >= p;
      expect(y[i]).toBe(keep ? x[i] * (1 / (1 - p)) : 0);
    }
  });

  it('is deterministic in (seed, offset); offsets shift the mask; seeds change it', () => {
    const r = rng(22);
    const n = 1000, p = 0.5;
    const x = randn(n + 10, r);
    const a = op('dropoutForward', 'float64', { p, seed: 5, offset: 100, x }).y;
    const b = op('dropoutForward', 'float64', { p, seed: 5, offset: 100, x }).y;
    expect(relErr(a, b)).toBe(0);
    // element i at offset 110 uses the counter of element i+10 at offset 100
    const sh = op('dropoutForward', 'float64', { p, seed: 5, offset: 110, x: x.subarray(10) }).y;
    for (let i = 0; i < n; i++) expect(sh[i] === 0).toBe(a[i + 10] === 0);
    const c = op('dropoutForward', 'float64', { p, seed: 6, offset: 100, x }).y;
    let differ = 0;
    for (let i = 0; i < x.length; i++) if ((a[i] === 0) !== (c[i] === 0)) differ++;
    expect(differ).toBeGreaterThan(x.length / 4);
  });

  it('backward regenerates the forward mask; in-place works; finite differences agree', () => {
    const r = rng(23);
    const n = 37, p = 0.4;
    const x = randn(n, r), R = randn(n, r);
    const y = op('dropoutForward', 'float64', { p, seed, offset, x }).y;
    const dx = op('dropoutBackward', 'float64', { p, seed, offset, dy: R }).dx;
    for (let i = 0; i < n; i++) expect(dx[i] === 0).toBe(y[i] === 0);
    const L = () => {
      const yy = op('dropoutForward', 'float64', { p, seed, offset, x }).y;
      let s = 0;
      for (let i = 0; i < n; i++) s += yy[i] * R[i];
      return s;
    };
    expect(relErr(dx, numericGrad(x, L))).toBeLessThan(1e-6);
    const inPlace = op('dropoutForward', 'float64', { p, seed, offset, x, inPlace: true }).y;
    expect(relErr(inPlace, y)).toBe(0);
  });

  it('keeps a fraction 1-p of ~1e5 elements (within 5 standard deviations)', () => {
    const n = 100_000;
    const x = new Float64Array(n).fill(1.5);
    for (const p of [0.1, 0.5, 0.8]) {
      const y = op('dropoutForward', 'float64', { p, seed: 99, offset: 0, x }).y;
      let kept = 0;
      for (let i = 0; i < n; i++) if (y[i] !== 0) kept++;
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(5 * sd);
      // inverted: the mean is preserved in expectation
      expect(Math.abs(y.reduce((s: number, v: number) => s + v, 0) / n - 1.5)).toBeLessThan(5 * 1.5 * Math.sqrt(p / (1 - p) / n));
    }
  });

  it('fp32 and fp64 draw identical masks and agree on values', () => {
    const r = rng(24);
    const n = 5001, p = 0.3;
    const x = randn(n, r);
    const y64 = op('dropoutForward', 'float64', { p, seed, offset, x }).y;
    const y32 = op('dropoutForward', 'float32', { p, seed, offset, x }).y;
    const d64 = op('dropoutBackward', 'float64', { p, seed, offset, dy: x }).dx;
    const d32 = op('dropoutBackward', 'float32', { p, seed, offset, dy: x }).dx;
    for (let i = 0; i < n; i++) {
      expect(y32[i] === 0).toBe(y64[i] === 0);
      expect(d32[i] === 0).toBe(d64[i] === 0);
    }
    expect(relErr(y32, y64)).toBeLessThan(1e-6);
    expect(relErr(d32, d64)).toBeLessThan(1e-6);
  });

  it('p = 0 is the identity', () => {
    const r = rng(25);
    const x = randn(101, r);
    for (const dt of ['float64', 'float32'] as DT[]) {
      expect(relErr(op('dropoutForward', dt, { p: 0, seed, offset, x }).y, x)).toBeLessThan(dt === 'float64' ? 1e-300 : 1e-7);
      expect(relErr(op('dropoutBackward', dt, { p: 0, seed, offset, dy: x }).dx, x)).toBeLessThan(dt === 'float64' ? 1e-300 : 1e-7);
    }
  });
});

/** Softmax of logits/temperature, in double. */
function softmax(z: ArrayLike<number>, temp = 1): number[] {
  const s = Array.from(z, (v) => v / temp);
  const mx = Math.max(...s);
  const e = s.map((v) => Math.exp(v - mx));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}
/** Indices sorted by (probability desc, index asc). */
const ranked = (z: ArrayLike<number>) => Array.from(z, (_, i) => i).sort((a, b) => z[b] - z[a] || a - b);
function nucleus(z: ArrayLike<number>, topP: number, temp = 1): Set<number> {
  const p = softmax(z, temp), order = ranked(z), keep = new Set<number>();
  let cum = 0;
  for (const i of order) {
    keep.add(i);
    cum += p[i];
    if (cum >= topP) break;
  }
  return keep;
}
function row(logits: Float64Array, V: number, b: number) {
  return logits.subarray(b * V, (b + 1) * V);
}
function repeatRow(z: number[], B: number): Float64Array {
  const out = new Float64Array(B * z.length);
  for (let b = 0; b < B; b++) out.set(z, b * z.length);
  return out;
}
/** Pearson chi-square of counts against probabilities (cells with p = 0 must be empty). */
function chiSquare(tokens: Int32Array, probs: number[]): number {
  const counts = new Array(probs.length).fill(0);
  for (const t of tokens) counts[t]++;
  let chi = 0;
  probs.forEach((p, i) => {
    if (p === 0) expect(counts[i]).toBe(0);
    else chi += (counts[i] - tokens.length * p) ** 2 / (tokens.length * p);
  });
  return chi;
}

describe('sample', () => {
  const B = 400, V = 11;
  const logits = randn(B * V, rng(31), 3);

  it('greedy is the argmax (lowest index on ties) and top_k = 1 equals it', () => {
    const tied = Float64Array.from(logits);
    tied[0 * V + 7] = tied[0 * V + 3] = 50; // row 0: tie between 3 and 7
    const g = op('sample', 'float64', { B, V, logits: tied, greedy: true, seed: 1, offset: 0 }).tokens;
    for (let b = 0; b < B; b++) expect(g[b]).toBe(ranked(row(tied, V, b))[0]);
    expect(g[0]).toBe(3);
    const k1 = op('sample', 'float64', { B, V, logits: tied, topK: 1, temperature: 1.7, seed: 9, offset: 4 }).tokens;
    expect(Array.from(k1)).toEqual(Array.from(g));
  });

  it('top_k = k draws only the k most likely tokens of each row', () => {
    for (const k of [2, 4]) {
      const t = op('sample', 'float64', { B, V, logits, topK: k, seed: 3, offset: 0 }).tokens;
      for (let b = 0; b < B; b++) expect(ranked(row(logits, V, b)).slice(0, k)).toContain(t[b]);
    }
  });

  it('top_p draws only from the nucleus of each row', () => {
    for (const topP of [0.3, 0.8]) {
      const t = op('sample', 'float64', { B, V, logits, topP, temperature: 0.8, seed: 4, offset: 0 }).tokens;
      for (let b = 0; b < B; b++) expect(nucleus(row(logits, V, b), topP, 0.8).has(t[b])).toBe(true);
    }
    // a tiny top_p keeps at least the most likely token
    const t = op('sample', 'float64', { B, V, logits, topP: 1e-9, seed: 4, offset: 0 }).tokens;
    for (let b = 0; b < B; b++) expect(t[b]).toBe(ranked(row(logits, V, b))[0]);
  });

  it('row b draws philox_uniform(seed, offset+b): picks the first index whose cumulative mass exceeds u', () => {
    const seed = 77, offset = 2 ** 33 + 5;
    const t = op('sample', 'float64', { B: 50, V, logits: logits.subarray(0, 50 * V), seed, offset }).tokens;
    for (let b = 0; b < 50; b++) {
      const p = softmax(row(logits, V, b));
      const u = philoxUniform(seed, offset + b, kStreamSample);
      let cum = 0, want = V - 1;
      for (let i = 0; i < V; i++) {
        cum += p[i];
        if (cum > u) {
          want = i;
          break;
        }
      }
      expect(t[b]).toBe(want);
    }
  });

  it('is deterministic for a seed; offsets and seeds change the draws', () => {
    const flat = new Float64Array(B * V).fill(0.25);
    const a = op('sample', 'float64', { B, V, logits: flat, seed: 5, offset: 0 }).tokens;
    const b = op('sample', 'float64', { B, V, logits: flat, seed: 5, offset: 0 }).tokens;
    expect(Array.from(a)).toEqual(Array.from(b));
    const c = op('sample', 'float64', { B, V, logits: flat, seed: 5, offset: B }).tokens;
    const d = op('sample', 'float64', { B, V, logits: flat, seed: 6, offset: 0 }).tokens;
    let dc = 0, dd = 0;
    for (let i = 0; i < B; i++) {
      if (a[i] !== c[i]) dc++;
      if (a[i] !== d[i]) dd++;
    }
    expect(dc).toBeGreaterThan(B / 2);
    expect(dd).toBeGreaterThan(B / 2);
    // offset + 1 shifts the draws by one row
    const s = op('sample', 'float64', { B, V, logits: flat, seed: 5, offset: 1 }).tokens;
    for (let i = 0; i + 1 < B; i++) expect(s[i]).toBe(a[i + 1]);
  });

  it('the empirical distribution over many rows matches softmax(logits / temperature)', () => {
    const z = [0.3, -1.2, 1.1, 0.0, 2.0, -0.4];
    const N = 60_000;
    const many = repeatRow(z, N);
    // chi-square with 5 degrees of freedom: P(chi2 > 30) ~ 1.5e-5
    for (const temperature of [1, 0.6, 2.5]) {
      const t = op('sample', 'float64', { B: N, V: z.length, logits: many, temperature, seed: 8, offset: 0 }).tokens;
      expect(chiSquare(t, softmax(z, temperature))).toBeLessThan(30);
    }
    // top-k 3 renormalizes over the three most likely
    const k3 = op('sample', 'float64', { B: N, V: z.length, logits: many, topK: 3, seed: 9, offset: 0 }).tokens;
    const p = softmax(z), top = new Set(ranked(z).slice(0, 3));
    const mass3 = [...top].reduce((s, i) => s + p[i], 0);
    expect(chiSquare(k3, p.map((v, i) => (top.has(i) ? v / mass3 : 0)))).toBeLessThan(30);
    // top-p 0.75 renormalizes over the nucleus
    const nuc = nucleus(z, 0.75);
    const massP = [...nuc].reduce((s, i) => s + p[i], 0);
    const tp = op('sample', 'float64', { B: N, V: z.length, logits: many, topP: 0.75, seed: 10, offset: 0 }).tokens;
    expect(chiSquare(tp, p.map((v, i) => (nuc.has(i) ? v / massP : 0)))).toBeLessThan(30);
  });

  it('fp32 and fp64 give identical tokens on well-separated logits', () => {
    for (const cfg of [{}, { temperature: 0.7 }, { topK: 5 }, { topP: 0.9, temperature: 1.3 }, { greedy: true }]) {
      const args = { B, V, logits, seed: 12, offset: 3, ...cfg };
      const a = op('sample', 'float64', args).tokens;
      const b = op('sample', 'float32', args).tokens;
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  });
});
