// Generation with int8 products (`precision: 'int8'`, native/cpu/int8.h): each weight column and
// each input row quantized symmetrically to [-127, 127] with its own scale (largest magnitude /
// 127), the sums exact in int32, then one fp32 scaling. The quantization is reproduced here
// exactly, so the product kernel must give the reference's bits under every instruction-set
// variant on awkward sizes; then whole greedy generations against a float64 reference of the
// quantized operands, and the option's checks.
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/native.js';
import { Model } from '../lib/index.js';
import { V, config, drawInChunks, greedyReference, modelWithWeights, REDUCED_PRODUCT_SIZES, packedBytesRatio, roundedProduct, type Product } from './helpers/generation-reference.js';
import { randn, rng } from './helpers/numeric.js';

const isa = loadNative().cpuIsa;
const original = isa.active();
afterAll(() => {
  isa.set(original);
});

/** Nearest integer, ties to even (the kernels' rounding). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** An input row as the kernels quantize it: in fp32, by 127 / its largest magnitude. */
function quantizeRow(x: ArrayLike<number>): { q: number[]; scale: number } {
  let largest = 0;
  for (let k = 0; k < x.length; k++) largest = Math.max(largest, Math.abs(Math.fround(x[k])));
  const inverse = largest > 0 ? Math.fround(127 / largest) : 0;
  return { q: Array.from(x, (v) => roundEven(Math.fround(Math.fround(v) * inverse))), scale: Math.fround(largest / 127) };
}

/** A weight column (the n-th output's weights) as packing quantizes it: in double. */
function quantizeColumn(w: ArrayLike<number>): { q: number[]; scale: number } {
  let largest = 0;
  for (let k = 0; k < w.length; k++) largest = Math.max(largest, Math.abs(w[k]));
  return { q: Array.from(w, (v) => (largest > 0 ? roundEven((v * 127) / largest) : 0)), scale: Math.fround(largest / 127) };
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k], 0);

describe('int8 quantization of the reference', () => {
  it('rounds ties to even and keeps the largest magnitude at ±127', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 126.5].map(roundEven)).toEqual([0, 2, 2, -0, -2, 126]);
    expect(quantizeRow([0.25, -1, 0.5]).q).toEqual([32, -127, 64]);
    expect(quantizeColumn([2, -1, 0]).q).toEqual([127, -64, 0]);
  });
});

/**
 * a [M,K] · op(b) [K,N] exactly as the kernels compute it: the integer sum of the quantized
 * operands (exact in float64 at these sizes), times fp32(row scale · column scale), rounded to fp32.
 */
function reference(M: number, N: number, K: number, a: Float32Array, b: Float32Array, transB: boolean): Float32Array {
  const columns = Array.from({ length: N }, (_, n) => quantizeColumn(Array.from({ length: K }, (_, k) => (transB ? b[n * K + k] : b[k * N + n]))));
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const row = quantizeRow(a.subarray(m * K, (m + 1) * K));
    for (let n = 0; n < N; n++) out[m * N + n] = dot(row.q, columns[n].q) * Math.fround(row.scale * columns[n].scale);
  }
  return out;
}

for (const name of isa.names) {
  describe.skipIf(!isa.supported(name))(`int8 product under ${name}`, () => {
    it("gives the reference's bits", () => {
      expect(isa.set(name)).toBe(true);
      REDUCED_PRODUCT_SIZES.forEach(([M, N, K, transB], i) => {
        const r = rng(60 + i);
        const a = Float32Array.from(randn(M * K, r));
        const b = Float32Array.from(randn(K * N, r, 0.5));
        a[1 % a.length] = 0;  // a zero, and a row's largest magnitude twice (a ±127 tie)
        b[0] = -b[b.length - 1];
        const got = isa.int8Product(M, N, K, a, b, transB);
        const want = reference(M, N, K, a, b, transB);
        for (let j = 0; j < want.length; j++) expect(got[j], `${M}x${N}x${K} [${j}]`).toBe(want[j]);
      });
    });

    it('skips the zero quads of a one-hot row and nothing else; a zero row gives zeros', () => {
      expect(isa.set(name)).toBe(true);
      const [N, K] = [100, 83];
      const b = Float32Array.from(randn(K * N, rng(9)));
      for (const hot of [0, 1, 41, 82]) {
        const a = new Float32Array(K);
        a[hot] = 1;
        expect(Array.from(isa.int8Product(1, N, K, a, b, true))).toEqual(Array.from(reference(1, N, K, a, b, true)));
      }
      expect(Array.from(isa.int8Product(1, N, K, new Float32Array(K), b, true))).toEqual(new Array(N).fill(0));
    });
  });
}

describe('int8Product validates its arguments', () => {
  it('throws TypeError/RangeError naming the argument', () => {
    const a = new Float32Array(6);
    expect(() => isa.int8Product(2, 2, 3, a, new Float32Array(5), false)).toThrow(/b must be a Float32Array of K\*N/);
    expect(() => isa.int8Product(2, 0, 3, a, new Float32Array(6), false)).toThrow(RangeError);
    expect(() => (isa.int8Product as unknown as () => void)()).toThrow(/int8Product\(M, N, K/);
  });
});

/** The float64 product of the quantized operands (W's rows are the columns of op(B)). */
const quantizedProduct: Product = (W, x, rows) => {
  const cols = x.length;
  const row = quantizeRow(x);
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const column = quantizeColumn(W.subarray(i * cols, (i + 1) * cols));
    out[i] = dot(row.q, column.q) * row.scale * column.scale;
  }
  return out;
};

describe("generate({ precision: 'int8' })", () => {
  it('draws the greedy tokens of the int8 float64 reference under every variant', async () => {
    let modesDiffer = false;
    for (const variant of isa.names) {
      if (!isa.set(variant)) continue;
      for (const seed of [3, 6, 13, 252]) {
        const { model, params } = modelWithWeights(seed * 100);
        const [prime, length] = [seed % V, 40];
        const q = greedyReference(params, prime, length, quantizedProduct);
        const exact = greedyReference(params, prime, length, roundedProduct(Math.fround));
        // The reference's activations are float64, the kernels' fp32: where one lands within
        // ~1e-5 of a quantization boundary they round apart, moving a logit by up to ~1e-2. The
        // seeds are ones whose paths stay further than that from a tie (252: one where int8 and
        // fp32 part ways).
        expect(q.gap, `seed ${seed}`).toBeGreaterThan(0.04);
        modesDiffer ||= q.tokens.join() !== exact.tokens.join();
        const got = await model.generate(Int32Array.of(prime), length, { greedy: true, precision: 'int8' });
        expect(Array.from(got), `${variant} seed ${seed} int8`).toEqual(q.tokens);
        model.dispose();
      }
    }
    // At least one path where quantization changes a token: the comparison tells the modes apart.
    expect(modesDiffer).toBe(true);
    isa.set(original);
  });

  it('keeps int8 copies of the weights, about a quarter of the fp32 ones', async () => {
    const ratio = await packedBytesRatio('int8');
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.4);
  });

  it('a batch of primes generates each row as alone, and chained chunks draw what one call draws', async () => {
    const { model } = modelWithWeights(900);
    const primes = [Int32Array.of(3, 1, 4), Int32Array.of(1, 5, 9), Int32Array.of(2, 6, 5)];
    const together = await model.generate(primes, 12, { greedy: true, precision: 'int8' });
    for (const [row, prime] of primes.entries()) {
      const alone = await model.generate(prime, 12, { greedy: true, precision: 'int8' });
      expect(Array.from(together.subarray(row * 12, row * 12 + 12)), `row ${row}`).toEqual(Array.from(alone));
    }
    const options = { seed: 7, temperature: 1.1, precision: 'int8' as const };
    const whole = await model.generate(primes, 30, options);
    expect(await drawInChunks(model, primes, [7, 1, 22], options)).toEqual(Array.from(whole));
    model.dispose();
  });

  it('never mixes up the bf16 and int8 copies of the same weights', async () => {
    const { model } = modelWithWeights(300);
    const fresh = () => modelWithWeights(300).model;
    for (const precision of ['bf16', 'int8', 'bf16'] as const) {
      const other = fresh();
      expect(Array.from(await model.generate(Int32Array.of(2), 20, { greedy: true, precision })), precision).toEqual(
        Array.from(await other.generate(Int32Array.of(2), 20, { greedy: true, precision })),
      );
      other.dispose();
    }
    model.dispose();
  });

  it('rejects what it cannot do with a RangeError naming options.precision, and the model stays usable', async () => {
    const m64 = Model.create(config('float64'));
    await expect(m64.generate(Int32Array.of(1), 3, { precision: 'int8' })).rejects.toThrow(/options\.precision 'int8' needs a float32 model on the CPU backend/);
    expect((await m64.generate(Int32Array.of(1), 3, { seed: 1 })).length).toBe(3);
    m64.dispose();
  });
});
