// The ops that serve attention and the sampled softmax, each on its own through the op harness:
// attention forward/backward against central differences in fp64, fp32 against fp64 at awkward
// sizes (B=1, T=1, S=1, odd H, ragged and zero memory lengths), the accumulate-vs-write contract
// of ops.h; sampled_logits and scale_rows against their formulas.
import { describe, expect, it } from 'vitest';
import { loadTestAddon } from './helpers/test-addon.js';
import { dot, numericGrad, randInts, randn, relErr, rng } from './helpers/numeric.js';

const ops = loadTestAddon().ops;
type Out = Record<string, Float64Array>;
const run = (op: string, dtype: 'float32' | 'float64', args: Record<string, unknown>) => ops[op](dtype, args) as Out;

interface Shape { B: number; T: number; S: number; H: number; M: number; lengths?: number[] }
const SHAPES: Shape[] = [
  { B: 1, T: 1, S: 1, H: 1, M: 2 },
  { B: 2, T: 3, S: 5, H: 4, M: 3, lengths: [5, 2] },
  { B: 3, T: 2, S: 7, H: 5, M: 6, lengths: [0, 7, 3] },
];

function attentionArgs(s: Shape, seed: number) {
  const r = rng(seed);
  const args: Record<string, unknown> = {
    B: s.B, T: s.T, S: s.S, H: s.H, M: s.M,
    q: randn(s.B * s.T * s.H, r), k: randn(s.B * s.S * s.H, r), mem: randn(s.B * s.S * s.M, r),
    dcontext: randn(s.B * s.T * s.M, r),
  };
  if (s.lengths) args.lengths = Int32Array.from(s.lengths);
  return args;
}

describe('attention', () => {
  it('fp64 backward matches central differences of sum(dcontext * context)', () => {
    SHAPES.forEach((s, i) => {
      const args = attentionArgs(s, 40 + i);
      const objective = () => dot(run('attentionForward', 'float64', args).context, args.dcontext as Float64Array);
      const got = run('attentionBackward', 'float64', args);
      for (const [input, grad] of [['q', 'dq'], ['k', 'dk'], ['mem', 'dmem']] as const) {
        const want = numericGrad(args[input] as Float64Array, objective);
        const scale = Math.max(1, Math.hypot(...want));
        const err = Math.hypot(...got[grad].map((g, j) => g - want[j])) / scale;
        expect(err, `${JSON.stringify(s)} ${grad}`).toBeLessThan(1e-8);
      }
    });
  });

  it('weights are a softmax over the valid memory steps; an empty memory gives a zero context', () => {
    const s = SHAPES[2];
    const { alpha, context } = run('attentionForward', 'float64', attentionArgs(s, 7));
    for (let b = 0; b < s.B; b++)
      for (let t = 0; t < s.T; t++) {
        const row = alpha.subarray((b * s.T + t) * s.S, (b * s.T + t + 1) * s.S);
        const len = s.lengths![b];
        expect(row.slice(len).every((a) => a === 0)).toBe(true);
        if (len > 0) expect(Math.abs(row.reduce((x, y) => x + y, 0) - 1)).toBeLessThan(1e-12);
        else expect(context.subarray((b * s.T + t) * s.M, (b * s.T + t + 1) * s.M).every((c) => c === 0)).toBe(true);
      }
  });

  it('dq and dmem accumulate into what they held; dk is written', () => {
    const s = SHAPES[1];
    const args = attentionArgs(s, 9);
    const r = rng(10);
    const fresh = run('attentionBackward', 'float64', args);
    const dq = randn(s.B * s.T * s.H, r), dmem = randn(s.B * s.S * s.M, r);
    const acc = run('attentionBackward', 'float64', { ...args, dq, dmem, poison: true });
    expect(relErr(acc.dq, dq.map((v, i) => v + fresh.dq[i]))).toBeLessThan(1e-14);
    expect(relErr(acc.dmem, dmem.map((v, i) => v + fresh.dmem[i]))).toBeLessThan(1e-14);
    expect(relErr(acc.dk, fresh.dk)).toBeLessThan(1e-14);
  });

  it('fp32 follows fp64 at awkward sizes', () => {
    const sizes: Shape[] = [...SHAPES, { B: 5, T: 9, S: 33, H: 67, M: 31, lengths: [33, 1, 17, 0, 32] }];
    sizes.forEach((s, i) => {
      const args = { ...attentionArgs(s, 70 + i), poison: true };
      for (const op of ['attentionForward', 'attentionBackward']) {
        const want = run(op, 'float64', args), got = run(op, 'float32', args);
        for (const key of Object.keys(want)) {
          if (Math.hypot(...want[key]) === 0) expect(Math.hypot(...got[key]), `${op}.${key}`).toBe(0);
          else expect(relErr(got[key], want[key]), `${JSON.stringify(s)} ${op}.${key}`).toBeLessThan(1e-5);
        }
      }
    });
  });

  it('bad arguments are TypeErrors/RangeErrors naming them', () => {
    const args = attentionArgs(SHAPES[1], 1);
    expect(() => run('attentionForward', 'float64', { ...args, lengths: Int32Array.of(6, 1) })).toThrow(/lengths\[0\]/);
    expect(() => run('attentionForward', 'float64', { ...args, q: undefined })).toThrow(TypeError);
    expect(() => run('attentionForward', 'float64', { ...args, q: new Float64Array(3) })).toThrow(/q/);
    expect(() => run('attentionBackward', 'float64', { ...args, dcontext: undefined })).toThrow(TypeError);
  });
});

describe('sampledLogits', () => {
  it('column 0 is the target logit, then the corrected sample logits, accidental hits masked', () => {
    for (const [N, D, S] of [[1, 1, 1], [7, 13, 5], [4, 33, 17]]) {
      const r = rng(N * 100 + S);
      const args = {
        N, D, S, x: randn(N * D, r), Wt: randn(N * D, r), bt: randn(N, r),
        targets: randInts(N, 9, r), samples: randInts(S, 9, r),
        logExpected: randn(S, r), sampleLogits: randn(N * S, r), poison: true,
      };
      for (const dtype of ['float64', 'float32'] as const) {
        const { logits } = run('sampledLogits', dtype, args);
        const tol = dtype === 'float64' ? 1e-14 : 1e-6;
        for (let n = 0; n < N; n++) {
          const want0 = dot(args.x.subarray(n * D, (n + 1) * D), args.Wt.subarray(n * D, (n + 1) * D)) + args.bt[n];
          expect(Math.abs(logits[n * (S + 1)] - want0)).toBeLessThan(tol * (1 + Math.abs(want0)) * 10);
          for (let j = 0; j < S; j++) {
            const got = logits[n * (S + 1) + 1 + j];
            if (args.samples[j] === args.targets[n]) expect(got).toBeLessThan(-1e29);
            else expect(Math.abs(got - (args.sampleLogits[n * S + j] - args.logExpected[j]))).toBeLessThan(tol * 10);
          }
        }
      }
    }
  });
});

describe('scaleRows', () => {
  it('out = scale[n*ldScale] * a[n,:], written or accumulated', () => {
    for (const [N, D, ld] of [[1, 1, 1], [5, 7, 3], [9, 33, 1]]) {
      const r = rng(N + D + ld);
      const scale = randn((N - 1) * ld + 1, r), a = randn(N * D, r), init = randn(N * D, r);
      const want = a.map((v, i) => scale[Math.floor(i / D) * ld] * v);
      for (const dtype of ['float64', 'float32'] as const) {
        const tol = dtype === 'float64' ? 1e-15 : 1e-6;
        expect(relErr(run('scaleRows', dtype, { N, D, ldScale: ld, scale, a, poison: true }).out, want)).toBeLessThan(tol);
        const acc = run('scaleRows', dtype, { N, D, ldScale: ld, scale, a, out: init, accumulate: true }).out;
        expect(relErr(acc, want.map((v, i) => v + init[i]))).toBeLessThan(tol);
      }
    }
  });
});
