// The CPU recurrent layer (ops.h rnn_forward / rnn_backward) through the op harness:
// PyTorch's golden values, central finite differences in fp64, fp32 against fp64, the ldy stride,
// dx accumulation and argument validation.
import { afterAll, describe, expect, it } from 'vitest';
import { loadTestAddon } from './helpers/test-addon.js';
import { dot, f64, hasGolden, loadGolden, numericGrad, randn, relErr, rng } from './helpers/numeric.js';
import { stackForwardBackward, takeCols, type CellName, type LayerParams, type StackSpec } from './helpers/rnn-stack.js';
import type { DType } from './helpers/test-addon.js';

const ops = loadTestAddon().ops;

// Largest error seen per check, printed at the end (the numbers the tolerances are judged by).
const worst = new Map<string, number>();
function record(check: string, err: number): number {
  worst.set(check, Math.max(worst.get(check) ?? 0, err));
  return err;
}
afterAll(() => {
  const lines = [...worst].map(([k, v]) => `  ${k}: ${v.toExponential(2)}`);
  console.log(`ops-rnn max errors:\n${lines.join('\n')}`);
});

interface Variant {
  name: string;
  cell: CellName;
  peephole?: boolean;
  resetBefore?: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'lstm', cell: 'lstm' },
  { name: 'lstm+peephole', cell: 'lstm', peephole: true },
  { name: 'gru', cell: 'gru' },
  { name: 'gru reset-before', cell: 'gru', resetBefore: true },
  { name: 'rnn_tanh', cell: 'rnn_tanh' },
  { name: 'rnn_relu', cell: 'rnn_relu' },
];
const gatesOf = (cell: CellName) => (cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1);

interface Problem {
  args: Record<string, unknown>; // harness args of rnnForward
  Ry: Float64Array;
  Rh: Float64Array;
  Rc?: Float64Array;
  tensors: Record<string, Float64Array>; // the differentiable inputs, by harness name
}

/** Random layer problem; relu gets positive-leaning inputs so no pre-activation sits at the kink. */
function makeProblem(
  v: Variant,
  size: { B: number; T: number; I: number; H: number; lengths?: number[] },
  reverse: boolean,
  seed: number,
): Problem {
  const r = rng(seed);
  const { B, T, I, H } = size;
  const GH = gatesOf(v.cell) * H;
  const lstm = v.cell === 'lstm';
  const tensors: Record<string, Float64Array> = {
    x: randn(B * T * I, r),
    h0: randn(B * H, r, 0.5),
    w_ih: randn(GH * I, r, 0.6),
    w_hh: randn(GH * H, r, 0.6),
    b_ih: randn(GH, r, 0.3),
    b_hh: randn(GH, r, 0.3),
  };
  if (lstm) tensors.c0 = randn(B * H, r, 0.5);
  if (v.peephole) tensors.peepholeWeights = randn(3 * H, r, 0.5);
  const args: Record<string, unknown> = {
    cell: v.cell,
    B,
    T,
    I,
    H,
    reverse,
    peephole: !!v.peephole,
    resetBefore: !!v.resetBefore,
    ...tensors,
  };
  if (size.lengths) args.lengths = Int32Array.from(size.lengths);
  return {
    args,
    Ry: randn(B * T * H, r),
    Rh: randn(B * H, r),
    Rc: lstm ? randn(B * H, r) : undefined,
    tensors,
  };
}

function loss(p: Problem, dtype: DType = 'float64'): number {
  const o = ops.rnnForward(dtype, p.args);
  let s = dot(o.y as Float64Array, p.Ry) + dot(o.hN as Float64Array, p.Rh);
  if (p.Rc) s += dot(o.cN as Float64Array, p.Rc);
  return s;
}

function backward(p: Problem, dtype: DType = 'float64') {
  const a: Record<string, unknown> = { ...p.args, dy: p.Ry, dhN: p.Rh };
  if (p.Rc) a.dcN = p.Rc;
  return ops.rnnBackward(dtype, a) as Record<string, Float64Array>;
}

// Harness input name -> gradient output name.
const GRAD_OF: Record<string, string> = {
  x: 'dx',
  h0: 'dh0',
  c0: 'dc0',
  w_ih: 'dw_ih',
  w_hh: 'dw_hh',
  b_ih: 'db_ih',
  b_hh: 'db_hh',
  peepholeWeights: 'dpeephole',
};

// Awkward sizes: odd H, I != H, H not a multiple of 8, ragged lengths with 0 and T, B=1 / T=1.
const SIZES = [
  { B: 3, T: 4, I: 3, H: 5, lengths: [2, 4, 0] },
  { B: 1, T: 1, I: 2, H: 7 },
  { B: 2, T: 3, I: 4, H: 3, lengths: [1, 3] },
];

describe('rnn: gradients vs central finite differences (fp64)', () => {
  for (const v of VARIANTS) {
    for (const reverse of [false, true]) {
      it(`${v.name} ${reverse ? 'reverse' : 'forward'}`, () => {
        SIZES.forEach((size, k) => {
          const p = makeProblem(v, size, reverse, 1000 + k * 31 + (reverse ? 7 : 0));
          const g = backward(p);
          // The loss the analytic gradient belongs to must be nonzero and its grads non-trivial.
          expect(Math.abs(loss(p))).toBeGreaterThan(1e-3);
          for (const [name, t] of Object.entries(p.tensors)) {
            const num = numericGrad(t, () => loss(p));
            const err = record(`finite differences (fp64) ${name}`, relErr(g[GRAD_OF[name]], num));
            expect(err, `${v.name} ${name} size#${k}`).toBeLessThan(1e-6);
            if (name !== 'x' && name !== 'h0' && name !== 'c0')
              expect(Math.hypot(...num), `${name} grad is zero`).toBeGreaterThan(1e-6);
          }
        });
      });
    }
  }
});

describe('rnn: float32 against float64', () => {
  for (const v of VARIANTS) {
    for (const reverse of [false, true]) {
      it(`${v.name} ${reverse ? 'reverse' : 'forward'}`, () => {
        // The second size is many rows of a small layer: fp32 runs its time loop in row blocks
        // over the pool (rnn.cc's in_row_blocks), a block edge off the micro-kernel's tiles.
        const sizes = [
          { B: 3, T: 6, I: 5, H: 7, lengths: [6, 3, 1] },
          { B: 37, T: 5, I: 3, H: 6, lengths: Array.from({ length: 37 }, (_, b) => (b * 7) % 6) },
        ];
        sizes.forEach((size, n) => {
          const p = makeProblem(v, size, reverse, 77 + (reverse ? 1 : 0) + 10 * n);
          const a = backward(p, 'float32');
          const b = backward(p, 'float64');
          const keys = ['y', 'hN', 'dx', 'dh0', 'dw_ih', 'dw_hh', 'db_ih', 'db_hh'];
          if (v.cell === 'lstm') keys.push('cN', 'dc0');
          if (v.peephole) keys.push('dpeephole');
          for (const k of keys) {
            expect(b[k], k).toBeInstanceOf(Float64Array);
            expect(Math.hypot(...b[k]), `${k} is zero (B=${size.B})`).toBeGreaterThan(1e-3);
            const err = record(`fp32 vs fp64 ${k}`, relErr(a[k], b[k]));
            expect(err, `${v.name} ${k} B=${size.B}`).toBeLessThan(1e-4);
          }
        });
      });
    }
  }
});

// ---- PyTorch golden cases ----

const GOLDEN = [
  'lstm_2layer',
  'lstm_bidir_lengths',
  'lstm_peephole',
  'gru_2layer',
  'gru_bidir_lengths',
  'gru_reset_before',
  'rnn_tanh',
  'rnn_relu',
];
const goldenPresent = GOLDEN.every(hasGolden);
if (!goldenPresent) console.warn('ops-rnn: ../shared/golden is absent; the PyTorch golden cases are skipped');

function goldenSpec(g: any): StackSpec {
  const c = g.config;
  const cell: CellName =
    c.cell === 'lstm' || c.cell === 'lstm_peephole'
      ? 'lstm'
      : c.cell === 'gru' || c.cell === 'gru_reset_before'
        ? 'gru'
        : c.nonlinearity === 'relu'
          ? 'rnn_relu'
          : 'rnn_tanh';
  return {
    cell,
    layers: c.layers,
    dirs: c.bidirectional ? 2 : 1,
    B: c.batch,
    T: c.steps,
    I: c.input_size,
    H: c.hidden_size,
    lengths: c.lengths ? Int32Array.from(c.lengths) : undefined,
    peephole: c.cell === 'lstm_peephole',
    resetBefore: c.cell === 'gru_reset_before',
  };
}

const suffix = (l: number, d: number) => `_l${l}${d === 1 ? '_reverse' : ''}`;

describe.skipIf(!goldenPresent)('rnn: PyTorch golden cases', () => {
  for (const name of GOLDEN) {
    for (const [dtype, tol] of [
      ['float64', 1e-10],
      ['float32', 1e-5],
    ] as [DType, number][]) {
      it(`${name} ${dtype}`, () => {
        const g = loadGolden(name);
        const s = goldenSpec(g);
        const params: LayerParams[][] = [];
        for (let l = 0; l < s.layers; l++) {
          params[l] = [];
          for (let d = 0; d < s.dirs; d++) {
            const sx = suffix(l, d);
            params[l][d] = {
              w_ih: f64(g.params[`weight_ih${sx}`]),
              w_hh: f64(g.params[`weight_hh${sx}`]),
              b_ih: f64(g.params[`bias_ih${sx}`]),
              b_hh: f64(g.params[`bias_hh${sx}`]),
            };
            if (s.peephole) {
              const pe = new Float64Array(3 * s.H);
              ['i', 'f', 'o'].forEach((q, j) => pe.set(f64(g.params[`peephole_${q}${sx}`]), j * s.H));
              params[l][d].peephole = pe;
            }
          }
        }
        const lstm = s.cell === 'lstm';
        const r = stackForwardBackward(ops, dtype, s, {
          x: f64(g.inputs.x),
          h0: f64(g.inputs.h0),
          c0: lstm ? f64(g.inputs.c0) : undefined,
          params,
          dOut: f64(g.inputs.R_output),
          dhN: f64(g.inputs.R_h),
          dcN: lstm ? f64(g.inputs.R_c) : undefined,
        });
        const check = (what: string, a: ArrayLike<number>, b: ArrayLike<number>) => {
          const err = record(`golden ${dtype} ${what.replace(/_l\d.*$/, '')}`, relErr(a, b));
          expect(err, `${name} ${dtype} ${what}`).toBeLessThanOrEqual(tol);
        };
        check('output', r.output, f64(g.outputs.output));
        check('h_n', r.hN, f64(g.outputs.h_n));
        if (lstm) check('c_n', r.cN!, f64(g.outputs.c_n));
        let lossV = dot(r.output, f64(g.inputs.R_output)) + dot(r.hN, f64(g.inputs.R_h));
        if (lstm) lossV += dot(r.cN!, f64(g.inputs.R_c));
        // The loss is a sum of terms of both signs that largely cancel, so its error is judged
        // against the sum of the terms' magnitudes (a plain relative error would measure the
        // cancellation, not the kernel: fp32 outputs within 1e-7 each can move it by 1e-5).
        const absSum = (a: ArrayLike<number>, b: ArrayLike<number>) => dot(Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs));
        let lossScale = absSum(r.output, f64(g.inputs.R_output)) + absSum(r.hN, f64(g.inputs.R_h));
        if (lstm) lossScale += absSum(r.cN!, f64(g.inputs.R_c));
        const lossErr = record(`golden ${dtype} loss`, Math.abs(lossV - g.outputs.loss) / lossScale);
        expect(lossErr, `${name} ${dtype} loss`).toBeLessThanOrEqual(tol);
        check('grad x', r.dx, f64(g.grads.x));
        check('grad h0', r.dh0, f64(g.grads.h0));
        if (lstm) check('grad c0', r.dc0!, f64(g.grads.c0));
        let nGrads = 0;
        for (let l = 0; l < s.layers; l++) {
          for (let d = 0; d < s.dirs; d++) {
            const sx = suffix(l, d);
            const gr = r.grads[l][d];
            check(`grad weight_ih${sx}`, gr.w_ih, f64(g.grads[`weight_ih${sx}`]));
            check(`grad weight_hh${sx}`, gr.w_hh, f64(g.grads[`weight_hh${sx}`]));
            check(`grad bias_ih${sx}`, gr.b_ih, f64(g.grads[`bias_ih${sx}`]));
            check(`grad bias_hh${sx}`, gr.b_hh, f64(g.grads[`bias_hh${sx}`]));
            nGrads += 4;
            if (s.peephole) {
              ['i', 'f', 'o'].forEach((q, j) => {
                check(`grad peephole_${q}${sx}`, gr.peephole!.subarray(j * s.H, (j + 1) * s.H), f64(g.grads[`peephole_${q}${sx}`]));
                nGrads += 1;
              });
            }
          }
        }
        // Every parameter gradient PyTorch reports was compared.
        const expected = Object.keys(g.grads).filter((k) => !['x', 'h0', 'c0'].includes(k)).length;
        expect(nGrads).toBe(expected);
      });
    }
  }
});

// ---- strides, accumulation, nullable inputs ----

describe('rnn: ldy, accumulation and defaults', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: ldy > H writes only its H columns; rows past a length are 0`, () => {
      const size = { B: 3, T: 4, I: 3, H: 5, lengths: [4, 1, 0] };
      for (const reverse of [false, true]) {
        const p = makeProblem(v, size, reverse, 555);
        const { B, T, H } = size;
        const ldy = H + 3;
        const r = rng(9);
        const yInit = randn(B * T * ldy, r);
        const base = ops.rnnForward('float64', p.args) as Record<string, Float64Array>;
        const wide = ops.rnnForward('float64', { ...p.args, ldy, yInit, withWorkspace: true }) as Record<string, Float64Array>;
        expect(wide.y.length).toBe(B * T * ldy);
        expect(Array.from(takeCols(wide.y, B * T, ldy, 0, H))).toEqual(Array.from(base.y));
        expect(Array.from(takeCols(wide.y, B * T, ldy, H, ldy - H))).toEqual(Array.from(takeCols(yInit, B * T, ldy, H, ldy - H)));
        expect(Array.from(wide.hN)).toEqual(Array.from(base.hN));
        // Row b=1 has length 1: its steps 1..3 are 0; row b=2 has length 0: all zero and hN = h0.
        for (let t = 1; t < T; t++) expect(Array.from(base.y.subarray((1 * T + t) * H, (1 * T + t + 1) * H))).toEqual(new Array(H).fill(0));
        expect(Array.from(base.y.subarray(2 * T * H, 3 * T * H))).toEqual(new Array(T * H).fill(0));
        expect(Array.from(base.hN.subarray(2 * H, 3 * H))).toEqual(Array.from((p.args.h0 as Float64Array).subarray(2 * H, 3 * H)));
        expect(Math.hypot(...base.y)).toBeGreaterThan(1e-3);

        // dy at ldy: the columns past H must be ignored.
        const dyWide = randn(B * T * ldy, r);
        const dyNarrow = takeCols(dyWide, B * T, ldy, 0, H);
        const gw = ops.rnnBackward('float64', { ...p.args, ldy, dy: dyWide, dhN: p.Rh }) as Record<string, Float64Array>;
        const gn = ops.rnnBackward('float64', { ...p.args, dy: dyNarrow, dhN: p.Rh }) as Record<string, Float64Array>;
        for (const k of ['dx', 'dh0', 'dw_ih', 'dw_hh', 'db_ih', 'db_hh']) {
          expect(Math.hypot(...gn[k]), k).toBeGreaterThan(1e-6);
          expect(Array.from(gw[k]), k).toEqual(Array.from(gn[k]));
        }
      }
    });

    it(`${v.name}: dx accumulates into dxInit; absent dy/dhN/h0 act as zeros`, () => {
      const size = { B: 2, T: 3, I: 4, H: 5, lengths: [3, 2] };
      const p = makeProblem(v, size, false, 321);
      const dxInit = randn(size.B * size.T * size.I, rng(4));
      const plain = backward(p);
      const acc = ops.rnnBackward('float64', { ...p.args, dy: p.Ry, dhN: p.Rh, dcN: p.Rc, dxInit }) as Record<string, Float64Array>;
      const sum = plain.dx.map((d, i) => d + dxInit[i]);
      expect(record('dx accumulation', relErr(acc.dx, sum))).toBeLessThan(1e-14);
      expect(Math.hypot(...plain.dx)).toBeGreaterThan(1e-3);

      // Parameter grads accumulate too (the caller zeroes the arena once per step).
      const keys = ['dw_ih', 'dw_hh', 'db_ih', 'db_hh', ...(v.peephole ? ['dpeephole'] : [])];
      const init: Record<string, Float64Array> = {};
      const r = rng(8);
      for (const k of keys) init[`${k}Init`] = randn(plain[k].length, r);
      const accP = ops.rnnBackward('float64', { ...p.args, dy: p.Ry, dhN: p.Rh, dcN: p.Rc, ...init }) as Record<string, Float64Array>;
      for (const k of keys) {
        expect(Math.hypot(...plain[k]), k).toBeGreaterThan(1e-6);
        const want = plain[k].map((d, i) => d + init[`${k}Init`][i]);
        expect(record('param grad accumulation', relErr(accP[k], want)), k).toBeLessThan(1e-14);
      }

      // dy only vs dhN only add up to both (the backward is linear in its incoming gradients).
      const onlyDy = ops.rnnBackward('float64', { ...p.args, dy: p.Ry }) as Record<string, Float64Array>;
      const onlyDh = ops.rnnBackward('float64', { ...p.args, dhN: p.Rh, dcN: p.Rc }) as Record<string, Float64Array>;
      for (const k of ['dx', 'dh0', 'dw_hh', 'db_ih']) {
        const s = onlyDy[k].map((d, i) => d + onlyDh[k][i]);
        expect(relErr(plain[k], s), k).toBeLessThan(1e-12);
      }
      // h0 absent == h0 of zeros.
      const { h0: _h0, c0: _c0, ...noState } = p.args;
      const zeros = { ...noState, h0: new Float64Array(size.B * size.H) } as Record<string, unknown>;
      if (v.cell === 'lstm') zeros.c0 = new Float64Array(size.B * size.H);
      const a = ops.rnnForward('float64', noState) as Record<string, Float64Array>;
      const b = ops.rnnForward('float64', zeros) as Record<string, Float64Array>;
      expect(Math.hypot(...a.y)).toBeGreaterThan(1e-3);
      expect(Array.from(a.y)).toEqual(Array.from(b.y));
      expect(Array.from(a.hN)).toEqual(Array.from(b.hN));
    });
  }
});

// ---- validation ----

describe('rnn: bad arguments throw, never crash', () => {
  const v = VARIANTS[0];
  const p = makeProblem(v, { B: 2, T: 3, I: 4, H: 5 }, false, 5);
  const bad = (over: Record<string, unknown>, fn: 'rnnForward' | 'rnnBackward' = 'rnnForward') => () =>
    ops[fn]('float64', { ...p.args, ...over });

  it('the valid call works', () => {
    const r = ops.rnnForward('float64', p.args) as Record<string, Float64Array>;
    expect(r.y.length).toBe(2 * 3 * 5);
    expect(Math.hypot(...r.y)).toBeGreaterThan(1e-3);
  });
  it('RangeError on sizes and values', () => {
    expect(bad({ x: new Float64Array(2 * 3 * 4 - 1) })).toThrow(RangeError);
    expect(bad({ x: new Float64Array(2 * 3 * 4 - 1) })).toThrow(/args\.x/);
    expect(bad({ lengths: Int32Array.from([3, 4]) })).toThrow(RangeError);
    expect(bad({ lengths: Int32Array.from([3, 4]) })).toThrow(/lengths/);
    expect(bad({ lengths: Int32Array.from([-1, 2]) })).toThrow(RangeError);
    expect(bad({ lengths: Int32Array.from([3]) })).toThrow(RangeError);
    expect(bad({ cell: 'lstmx' })).toThrow(RangeError);
    expect(bad({ cell: 'lstmx' })).toThrow(/cell/);
    expect(bad({ w_hh: new Float64Array(10) })).toThrow(/w_hh/);
    expect(bad({ h0: new Float64Array(3) })).toThrow(RangeError);
    expect(bad({ ldy: 4 })).toThrow(RangeError);
    expect(bad({ B: 0 })).toThrow(RangeError);
    expect(bad({ H: 2.5 })).toThrow(RangeError);
    expect(bad({ peephole: true, peepholeWeights: new Float64Array(7) })).toThrow(RangeError);
    expect(bad({ resetBefore: true })).toThrow(RangeError);
    expect(bad({ dy: new Float64Array(5) }, 'rnnBackward')).toThrow(/args\.dy/);
    expect(bad({ dxInit: new Float64Array(5) }, 'rnnBackward')).toThrow(RangeError);
    expect(bad({ dw_hhInit: new Float64Array(5) }, 'rnnBackward')).toThrow(/dw_hhInit/);
    expect(bad({ dcN: new Float64Array(11) }, 'rnnBackward')).toThrow(/dcN/);
    expect(() => ops.rnnForward('float16' as DType, p.args)).toThrow(RangeError);
  });
  it('TypeError on wrong types and missing arguments', () => {
    expect(bad({ x: Array.from(p.args.x as Float64Array) })).toThrow(TypeError);
    expect(bad({ x: new Float32Array(24) })).toThrow(TypeError);
    expect(bad({ lengths: Float64Array.from([1, 2]) })).toThrow(TypeError);
    expect(bad({ w_ih: undefined })).toThrow(TypeError);
    expect(bad({ cell: 3 })).toThrow(TypeError);
    expect(bad({ T: '3' })).toThrow(TypeError);
    expect(bad({ peephole: true })).toThrow(TypeError);
    expect(() => ops.rnnForward('float64', undefined as unknown as Record<string, unknown>)).toThrow(TypeError);
  });
});
