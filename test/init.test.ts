// Host initializers (native/init.h): determinism in (seed, offset), the counter convention,
// moments of uniform / normal / Glorot draws, and orthogonality (torch.nn.init.orthogonal_
// semantics: the sign-corrected Q of the QR of a normal matrix).
import { describe, expect, it } from 'vitest';
import { loadTestAddon } from './helpers/test-addon.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const init = loadTestAddon().init;

function moments(x: Float64Array) {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let v2 = 0, v4 = 0;
  for (const v of x) {
    v2 += (v - mean) ** 2;
    v4 += (v - mean) ** 4;
  }
  const variance = v2 / x.length;
  return { mean, variance, kurtosis: v4 / x.length / variance ** 2 };
}

/** C = A^T B for row-major A [m,k], B [m,n]. */
function atb(A: Float64Array, B: Float64Array, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(k * n);
  for (let r = 0; r < m; r++)
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) C[i * n + j] += A[r * k + i] * B[r * n + j];
  return C;
}
function transpose(A: Float64Array, m: number, n: number): Float64Array {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = A[i * n + j];
  return T;
}
function maxAbsDiffFromIdentity(C: Float64Array, k: number, scale = 1): number {
  let e = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) e = Math.max(e, Math.abs(C[i * k + j] - (i === j ? scale : 0)));
  return e;
}

describe('init determinism and counters', () => {
  it('the same (seed, offset) gives the same values; element i uses counter offset + i', () => {
    for (const [name, args] of [
      ['uniform', { lo: -2, hi: 3 }],
      ['normal', { mean: 0.5, std: 2 }],
      ['glorotUniform', { fanIn: 10, fanOut: 20 }],
    ] as Array<[string, Record<string, number>]>) {
      const a = init[name]({ ...args, n: 200, seed: 42, offset: 1000 });
      const b = init[name]({ ...args, n: 200, seed: 42, offset: 1000 });
      expect(Array.from(b)).toEqual(Array.from(a));
      const shifted = init[name]({ ...args, n: 190, seed: 42, offset: 1010 });
      expect(Array.from(shifted)).toEqual(Array.from(a.subarray(10)));
      const other = init[name]({ ...args, n: 200, seed: 43, offset: 1000 });
      let same = 0;
      for (let i = 0; i < 200; i++) if (other[i] === a[i]) same++;
      expect(same).toBe(0);
    }
  });

  it('seeds and offsets above 2^32 are honoured', () => {
    const a = init.uniform({ n: 4, lo: 0, hi: 1, seed: 2 ** 40 + 1, offset: 2 ** 35 });
    const b = init.uniform({ n: 4, lo: 0, hi: 1, seed: 1, offset: 2 ** 35 });
    const c = init.uniform({ n: 4, lo: 0, hi: 1, seed: 2 ** 40 + 1, offset: 0 });
    expect(Array.from(a)).not.toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});

describe('init moments', () => {
  const n = 100_000;
  it('uniform(lo, hi): in range, mean and variance of U(lo, hi)', () => {
    const lo = -0.3, hi = 0.9;
    const x = init.uniform({ n, lo, hi, seed: 7 });
    let mn = Infinity, mx = -Infinity;
    for (const v of x) {
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
    }
    expect(mn).toBeGreaterThanOrEqual(lo);
    expect(mx).toBeLessThan(hi);
    expect(mn).toBeLessThan(lo + 1e-3);
    expect(mx).toBeGreaterThan(hi - 1e-3);
    const m = moments(x), w = hi - lo;
    expect(Math.abs(m.mean - (lo + hi) / 2)).toBeLessThan(5 * w / Math.sqrt(12 * n));
    expect(Math.abs(m.variance / (w * w / 12) - 1)).toBeLessThan(0.02);
  });

  it('normal(mean, std): mean, variance, kurtosis and the one-sigma fraction', () => {
    const mean = -1.5, std = 0.7;
    const x = init.normal({ n, mean, std, seed: 8, offset: 3 });
    const m = moments(x);
    expect(Math.abs(m.mean - mean)).toBeLessThan(5 * std / Math.sqrt(n));
    expect(Math.abs(m.variance / (std * std) - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(m.kurtosis - 3)).toBeLessThan(0.1);
    let within = 0;
    for (const v of x) if (Math.abs(v - mean) < std) within++;
    expect(Math.abs(within / n - 0.682689)).toBeLessThan(0.01);
  });

  it('glorotUniform: bound gain*sqrt(6/(fanIn+fanOut)), variance bound^2/3, default n = fanIn*fanOut', () => {
    const fanIn = 300, fanOut = 200, gain = 1.3;
    const x = init.glorotUniform({ fanIn, fanOut, gain, seed: 9 });
    expect(x.length).toBe(fanIn * fanOut);
    const a = gain * Math.sqrt(6 / (fanIn + fanOut));
    let mx = 0;
    for (const v of x) mx = Math.max(mx, Math.abs(v));
    expect(mx).toBeLessThanOrEqual(a);
    expect(mx).toBeGreaterThan(0.99 * a);
    expect(Math.abs(moments(x).variance / (a * a / 3) - 1)).toBeLessThan(0.02);
  });

  it('constant fills', () => {
    const x = init.constant({ n: 17, value: 0.25 });
    expect(x.length).toBe(17);
    expect(x.every((v) => v === 0.25)).toBe(true);
  });
});

describe('orthogonal', () => {
  for (const [rows, cols] of [
    [8, 8],
    [7, 3],
    [3, 7],
    [1, 5],
    [33, 33],
  ])
    it(`${rows}x${cols}: orthonormal ${rows >= cols ? 'columns (QᵀQ = I)' : 'rows (QQᵀ = I)'}; Q is the sign-corrected QR of the normal draw`, () => {
      const seed = 1234, offset = 77;
      const gain = 1.7;
      const Q = init.orthogonal({ rows, cols, gain, seed, offset });
      expect(Array.from(init.orthogonal({ rows, cols, gain, seed, offset }))).toEqual(Array.from(Q));
      const A = init.normal({ n: rows * cols, seed, offset }); // the matrix orthogonal factorizes
      const q = Q.map((v) => v / gain);
      if (rows >= cols) {
        expect(maxAbsDiffFromIdentity(atb(q, q, rows, cols, cols), cols)).toBeLessThan(1e-12);
        // R = QᵀA is upper triangular with a positive diagonal
        const R = atb(q, A, rows, cols, cols);
        for (let i = 0; i < cols; i++) {
          expect(R[i * cols + i]).toBeGreaterThan(0);
          for (let j = 0; j < i; j++) expect(Math.abs(R[i * cols + j])).toBeLessThan(1e-12);
        }
      } else {
        const qt = transpose(q, rows, cols); // [cols, rows]
        expect(maxAbsDiffFromIdentity(atb(qt, qt, cols, rows, rows), rows)).toBeLessThan(1e-12);
        const R = atb(qt, transpose(A, rows, cols), cols, rows, rows); // Q Aᵀ
        for (let i = 0; i < rows; i++) {
          expect(R[i * rows + i]).toBeGreaterThan(0);
          for (let j = 0; j < i; j++) expect(Math.abs(R[i * rows + j])).toBeLessThan(1e-12);
        }
      }
    });

  it('per-gate blocks of a recurrent weight [G*H, H] are each orthogonal and distinct', () => {
    const G = 4, H = 6, seed = 5;
    const blocks = Array.from({ length: G }, (_, g) => init.orthogonal({ rows: H, cols: H, seed, offset: g * H * H }));
    for (const Q of blocks) expect(maxAbsDiffFromIdentity(atb(Q, Q, H, H, H), H)).toBeLessThan(1e-12);
    expect(Array.from(blocks[1])).not.toEqual(Array.from(blocks[0]));
  });
});
