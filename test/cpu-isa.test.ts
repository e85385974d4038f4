// The fp32 CPU kernels under each instruction-set variant (generic, AVX2, AVX-512 on x86-64;
// generic, NEON on arm64: `npm run test:arm64`), forced one after another: recurrent ops, dense and whole training steps against the fp64 reference, on
// random inputs of awkward sizes (odd H, B=1, T=1, sizes off every tile and vector width).
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/native.js';
import { Model, type ModelConfig } from '../lib/index.js';
import { fp32IsaNames } from './helpers/isa.js';
import { randInts, randn, relErr, rng } from './helpers/numeric.js';
import { loadTestAddon } from './helpers/test-addon.js';
import type { CpuIsaName } from '../typings/native.js';

// The ops run in the test addon, the models (lib/) in the production one: each holds its own
// variant choice, so both are switched together.
const native = loadTestAddon();
const isa = native.cpuIsa;
const modelIsa = loadNative().cpuIsa;
const original = isa.active();
const modelOriginal = modelIsa.active();
afterAll(() => {
  isa.set(original);
  modelIsa.set(modelOriginal);
});

type Cell = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';
const VARIANTS: Array<{ cell: Cell; peephole?: boolean; resetBefore?: boolean }> = [
  { cell: 'lstm' },
  { cell: 'lstm', peephole: true },
  { cell: 'gru' },
  { cell: 'gru', resetBefore: true },
  { cell: 'rnn_tanh' },
  { cell: 'rnn_relu' },
];
// B x T x I x H: B=1 and T=1 (generation), sizes off the 4/6/8 tile rows and 8/16/32 lanes,
// one big enough to be split over the thread pool, B=1 with G*H*H past the matrix-vector split
// (generation of a large model), and ragged rows a step deals to the pool.
const SIZES = [
  { B: 1, T: 1, I: 19, H: 37 },
  { B: 1, T: 9, I: 5, H: 33 },
  { B: 7, T: 1, I: 3, H: 17 },
  { B: 13, T: 5, I: 21, H: 45, lengths: [5, 2, 0, 5, 1, 3, 4, 5, 5, 2, 1, 5, 3] },
  { B: 33, T: 6, I: 70, H: 67 },
  { B: 1, T: 2, I: 9, H: 151 },
  // enough gate values per step (B·G·H >= 2·8192) that fp32 deals a step's rows to the pool
  { B: 40, T: 4, I: 9, H: 151, lengths: [4, 1, 0, 3, 4, 2, 4, 4, 1, 3, 4, 4, 2, 4, 0, 4, 3, 4, 4, 1, 4, 2, 4, 4, 3, 4, 4, 1, 4, 4, 2, 4, 4, 3, 4, 4, 4, 1, 4, 4] },
];
const gates = (c: Cell) => (c === 'lstm' ? 4 : c === 'gru' ? 3 : 1);

function rnnCase(v: (typeof VARIANTS)[number], size: (typeof SIZES)[number], reverse: boolean, seed: number) {
  const r = rng(seed);
  const { B, T, I, H } = size;
  const GH = gates(v.cell) * H;
  const args: Record<string, unknown> = {
    cell: v.cell, B, T, I, H, reverse, peephole: !!v.peephole, resetBefore: !!v.resetBefore,
    x: randn(B * T * I, r), h0: randn(B * H, r, 0.5),
    w_ih: randn(GH * I, r, 0.3), w_hh: randn(GH * H, r, 0.3),
    b_ih: randn(GH, r, 0.3), b_hh: randn(GH, r, 0.3),
    dy: randn(B * T * H, r), dhN: randn(B * H, r),
  };
  if (v.cell === 'lstm') Object.assign(args, { c0: randn(B * H, r, 0.5), dcN: randn(B * H, r) });
  if (v.peephole) args.peepholeWeights = randn(3 * H, r, 0.5);
  if ('lengths' in size && size.lengths) args.lengths = Int32Array.from(size.lengths);
  return args;
}

function modelConfig(cell: 'lstm' | 'gru', dtype: 'float32' | 'float64'): ModelConfig {
  return {
    input: { type: 'oneHot', vocabSize: 23 },
    layers: [{ cell, units: 41 }, { cell, units: 29 }],
    dense: [{ units: 23 }],
    seed: 5,
    dtype,
  };
}

for (const name of fp32IsaNames(isa)) {
  const supported = isa.supported(name);
  if (!supported) console.warn(`cpu-isa: skipping '${name}': this CPU or build lacks it`);
  describe.skipIf(!supported)(`fp32 kernels forced to ${name}`, () => {
    const use = () => {
      expect(isa.set(name)).toBe(true);
      expect(modelIsa.set(name)).toBe(true);
    };

    for (const v of VARIANTS)
      it(`${v.cell}${v.peephole ? '+peephole' : ''}${v.resetBefore ? ' reset-before' : ''}: forward and backward match fp64`, () => {
        use();
        expect(isa.active()).toBe(name);
        SIZES.forEach((size, k) => {
          for (const reverse of [false, true]) {
            const args = rnnCase(v, size, reverse, 1000 + k * 17 + (reverse ? 1 : 0));
            const want = native.ops.rnnBackward('float64', args) as Record<string, Float64Array>;
            const got = native.ops.rnnBackward('float32', args) as Record<string, Float64Array>;
            const keys = ['y', 'hN', 'dx', 'dh0', 'dw_ih', 'dw_hh', 'db_ih', 'db_hh'];
            if (v.cell === 'lstm') keys.push('cN', 'dc0');
            if (v.peephole) keys.push('dpeephole');
            for (const key of keys) {
              expect(Math.hypot(...want[key]), `${key} is zero`).toBeGreaterThan(1e-3);
              expect(relErr(got[key], want[key]), `${JSON.stringify(size)} ${reverse} ${key}`).toBeLessThan(1e-4);
            }
          }
        });
      });

    it('one-hot rows (64 or more): the gathered projection and scattered dW_ih match fp64', () => {
      use();
      for (const cell of ['lstm', 'gru'] as const) {
        const size = { B: 9, T: 8, I: 23, H: 37, lengths: [8, 3, 0, 8, 5, 8, 1, 8, 7] };
        const args = rnnCase({ cell }, size, false, 77);
        const r = rng(78);
        const x = new Float64Array(size.B * size.T * size.I);
        for (let row = 0; row < size.B * size.T; row++) x[row * size.I + Math.floor(r() * size.I)] = 1;
        args.x = x;
        const want = native.ops.rnnBackward('float64', args) as Record<string, Float64Array>;
        const got = native.ops.rnnBackward('float32', args) as Record<string, Float64Array>;
        for (const key of ['y', 'hN', 'dx', 'dw_ih', 'dw_hh', 'db_ih']) {
          expect(Math.hypot(...want[key]), `${key} is zero`).toBeGreaterThan(1e-3);
          expect(relErr(got[key], want[key]), `${cell} ${key}`).toBeLessThan(1e-4);
        }
      }
    });

    it('dense forward and backward match fp64 (tile edges, one row, a pool-sized product)', () => {
      use();
      for (const [N, I, O] of [[1, 37, 83], [1, 301, 263], [7, 5, 3], [50, 67, 33], [130, 300, 259]]) {
        const r = rng(N * 13 + I + O);
        const x = randn(N * I, r), W = randn(O * I, r, 0.2), b = randn(O, r), dy = randn(N * O, r);
        for (const act of ['linear', 'tanh']) {
          const y = native.ops.denseForward('float64', { N, I, O, act, x, W, b }).y as Float64Array;
          const y32 = native.ops.denseForward('float32', { N, I, O, act, x, W, b }).y as Float64Array;
          expect(relErr(y32, y)).toBeLessThan(1e-4);
          const g = native.ops.denseBackward('float64', { N, I, O, act, x, W, y, dy }) as Record<string, Float64Array>;
          const g32 = native.ops.denseBackward('float32', { N, I, O, act, x, W, y, dy }) as Record<string, Float64Array>;
          for (const k of ['dx', 'dW', 'db']) expect(relErr(g32[k], g[k]), `${N}x${I}x${O} ${act} ${k}`).toBeLessThan(1e-4);
        }
      }
    });

    for (const cell of ['lstm', 'gru'] as const)
      it(`${cell} model: training steps in fp32 follow fp64`, () => {
        use();
        const m32 = Model.create(modelConfig(cell, 'float32'));
        const m64 = Model.create(modelConfig(cell, 'float64'));
        const r = rng(9);
        for (let s = 0; s < 3; s++) {
          const B = 7, T = 11;  // 77 one-hot rows: the first layer gathers instead of multiplying (>= 64)
          const batch = { inputs: randInts(B * T, 23, r), targets: randInts(B * T, 23, r), batchSize: B, steps: T };
          const opts = { learningRate: 0.01, clipNorm: 1 };
          const a = m32.trainStepSync(batch, opts), b = m64.trainStepSync(batch, opts);
          expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-4);
          expect(Math.abs(a.gradNorm - b.gradNorm) / b.gradNorm).toBeLessThan(1e-4);
        }
        for (const p of m64.params()) expect(relErr(m32.getParam(p.name), m64.getParam(p.name)), p.name).toBeLessThan(1e-4);
        m32.dispose();
        m64.dispose();
      });
  });
}

describe('cpuIsa names', () => {
  it('lists exactly the names of the typings (CpuIsaName), and the active one among them', () => {
    // A Record over the union: tsc fails here when the typings gain or lose a name.
    const typed: Record<CpuIsaName, true> = { generic: true, avx2: true, avx512: true, avx512bf16: true, neon: true, neonbf16: true };
    expect([...isa.names].sort()).toEqual(Object.keys(typed).sort());
    expect(isa.names).toContain(isa.active());
    expect(isa.supported('generic')).toBe(true);
  });
});

describe('cpuIsa argument checks', () => {
  it('rejects bad names with TypeError/RangeError and keeps the active variant', () => {
    const before = isa.active();
    expect(() => (isa.set as (n: unknown) => boolean)(3)).toThrow(TypeError);
    expect(() => (isa.set as (n: string) => boolean)('sse9')).toThrow(RangeError);
    expect(() => (isa.set as (n: string) => boolean)('sse9')).toThrow(/'generic', 'avx2'.*'neonbf16', or 'auto', got 'sse9'/);
    expect(isa.active()).toBe(before);
    expect(isa.threads()).toBeGreaterThanOrEqual(1);
  });
});
