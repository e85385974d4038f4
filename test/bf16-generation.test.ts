// Generation with bf16 products (`precision: 'bf16'`, native/cpu/bf16.h): every product rounds
// its weights and its input row to bfloat16 (nearest, ties to even) and sums in fp32. Held here
// against a float64 reference that rounds the same operands: the product kernel under every
// instruction-set variant on awkward sizes, then whole greedy generations of an LSTM+GRU model.
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/native.js';
import { Model, Vocabulary, sampleText, sampleTexts, streamText } from '../lib/index.js';
import { V, config, drawInChunks, greedyReference, modelWithWeights, REDUCED_PRODUCT_SIZES, packedBytesRatio, roundedProduct } from './helpers/generation-reference.js';
import { randInts, randn, rng } from './helpers/numeric.js';

const isa = loadNative().cpuIsa;
const original = isa.active();
afterAll(() => {
  isa.set(original);
});

const word = new Float32Array(1);
const bits = new Uint32Array(word.buffer);
/** fp32 -> bf16 -> number: nearest, ties to even. */
function bf16(x: number): number {
  word[0] = x;
  const u = bits[0];
  if ((u & 0x7fffffff) > 0x7f800000) return NaN;
  bits[0] = (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
  return word[0];
}

describe('bf16 rounding of the reference', () => {
  it('rounds to nearest with ties to even', () => {
    expect(bf16(1 + 2 ** -8)).toBe(1); // a tie: down to the even mantissa
    expect(bf16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6); // a tie: up to the even mantissa
    expect(bf16(1 + 2 ** -8 + 2 ** -12)).toBe(1 + 2 ** -7); // above the tie
    expect(bf16(-0.1)).toBeCloseTo(-0.10009765625, 12);
  });
});

/** a [M,K] · op(b) [K,N] in float64 over bf16-rounded operands. */
function reference(M: number, N: number, K: number, a: Float32Array, b: Float32Array, transB: boolean): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += bf16(a[m * K + k]) * bf16(transB ? b[n * K + k] : b[k * N + n]);
      out[m * N + n] = s;
    }
  return out;
}
/** The bound on fp32 summation error: a few ulps of the sum of |terms|. */
function magnitudes(M: number, N: number, K: number, a: Float32Array, b: Float32Array, transB: boolean): Float64Array {
  const abs = (x: Float32Array) => x.map(Math.abs);
  return reference(M, N, K, abs(a), abs(b), transB);
}

for (const name of isa.names) {
  describe.skipIf(!isa.supported(name))(`bf16 product under ${name}`, () => {
    it('matches the float64 product of the rounded operands', () => {
      expect(isa.set(name)).toBe(true);
      REDUCED_PRODUCT_SIZES.forEach(([M, N, K, transB], i) => {
        const r = rng(40 + i);
        const a = Float32Array.from(randn(M * K, r));
        const b = Float32Array.from(randn(K * N, r, 0.5));
        // Ties of the rounding in both operands: the rounding must be the reference's.
        a[0] = 1 + 2 ** -8;
        b[b.length - 1] = -(1 + 3 * 2 ** -8);
        const got = isa.bf16Product(M, N, K, a, b, transB);
        const want = reference(M, N, K, a, b, transB);
        const bound = magnitudes(M, N, K, a, b, transB);
        for (let j = 0; j < want.length; j++)
          expect(Math.abs(got[j] - want[j]), `${M}x${N}x${K} [${j}]`).toBeLessThanOrEqual(4e-7 * bound[j] + 1e-30);
      });
    });

    it('skips the zero pairs of a one-hot row and nothing else', () => {
      expect(isa.set(name)).toBe(true);
      const [N, K] = [100, 83];
      const b = Float32Array.from(randn(K * N, rng(9)));
      for (const hot of [0, 1, 41, 82]) {
        const a = new Float32Array(K);
        a[hot] = 1;
        const got = isa.bf16Product(1, N, K, a, b, true);
        for (let n = 0; n < N; n++) expect(got[n]).toBe(bf16(b[n * K + hot]));
      }
    });
  });
}

describe('bf16Product validates its arguments', () => {
  it('throws TypeError/RangeError naming the argument', () => {
    const a = new Float32Array(6);
    expect(() => isa.bf16Product(2, 2, 3, a, new Float32Array(5), false)).toThrow(/b must be a Float32Array of K\*N/);
    expect(() => isa.bf16Product(0, 2, 3, a, new Float32Array(6), false)).toThrow(RangeError);
    expect(() => isa.bf16Product(2, 2, 3, new Float64Array(6) as unknown as Float32Array, new Float32Array(6), false)).toThrow(/a must be/);
    expect(() => (isa.bf16Product as unknown as () => void)()).toThrow(TypeError);
  });
});

// ---- whole generations (the model and its reference: helpers/generation-reference.ts) ----
describe("generate({ precision: 'bf16' })", () => {
  const identity = (v: number) => Math.fround(v);

  it('draws the greedy tokens of the bf16 float64 reference (and fp32 those of the exact one)', async () => {
    let modesDiffer = false;
    for (const variant of isa.names) {
      if (!isa.set(variant)) continue;
      for (const seed of [1, 2, 5]) {
        const { model, params } = modelWithWeights(seed * 100);
        const length = 40;
        const bf = greedyReference(params, seed, length, roundedProduct(bf16));
        const exact = greedyReference(params, seed, length, roundedProduct(identity));
        // The references leave fp32 rounding and the kernels' activations (~1e-7) no say.
        expect(Math.min(bf.gap, exact.gap), `seed ${seed}`).toBeGreaterThan(1e-4);
        modesDiffer ||= bf.tokens.join() !== exact.tokens.join();
        const got = await model.generate(Int32Array.of(seed), length, { greedy: true, precision: 'bf16' });
        expect(Array.from(got), `${variant} seed ${seed} bf16`).toEqual(bf.tokens);
        const got32 = await model.generate(Int32Array.of(seed), length, { greedy: true });
        expect(Array.from(got32), `${variant} seed ${seed} fp32`).toEqual(exact.tokens);
        model.dispose();
      }
    }
    // At least one path where rounding changes a token: the comparison tells the modes apart.
    expect(modesDiffer).toBe(true);
    isa.set(original);
  });

  it('keeps bf16 copies of the weights, half the fp32 ones', async () => {
    const ratio = await packedBytesRatio('bf16');
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(0.6);
  });

  it('chained chunks draw what one call draws', async () => {
    const model = Model.create(config());
    const options = { seed: 5, temperature: 1.3, precision: 'bf16' as const };
    const whole = await model.generate(Int32Array.of(4), 30, options);
    expect(await drawInChunks(model, [Int32Array.of(4)], [7, 1, 22], options)).toEqual(Array.from(whole));
    model.dispose();
  });

  it('never uses a stale bf16 copy after setParam', async () => {
    const used = Model.create(config());
    const options = { seed: 3, precision: 'bf16' as const };
    await used.generate(Int32Array.of(2), 5, options);
    const changed = randn(used.getParam('rnn.weight_hh_l1').length, rng(77), 0.5);
    used.setParam('rnn.weight_hh_l1', changed);
    const fresh = Model.create(config());
    fresh.setParam('rnn.weight_hh_l1', changed);
    expect(Array.from(await used.generate(Int32Array.of(2), 20, options))).toEqual(Array.from(await fresh.generate(Int32Array.of(2), 20, options)));
    used.dispose();
    fresh.dispose();
  });

  it('rejects what it cannot do with a RangeError naming options.precision, and the model stays usable', async () => {
    const m64 = Model.create(config('float64'));
    await expect(m64.generate(Int32Array.of(1), 3, { precision: 'bf16' })).rejects.toThrow(RangeError);
    await expect(m64.generate(Int32Array.of(1), 3, { precision: 'bf16' })).rejects.toThrow(/options\.precision/);
    await expect(m64.generate(Int32Array.of(1), 3, { precision: 'fp16' as 'bf16' })).rejects.toThrow(/options\.precision/);
    expect((await m64.generate(Int32Array.of(1), 3, { seed: 1 })).length).toBe(3);
    m64.dispose();
  });
});

it('a batch of primes generates each row as alone (the several-row bf16 products)', async () => {
  const { model } = modelWithWeights(900);
  const primes = [randInts(3, V, rng(5)), randInts(3, V, rng(6)), randInts(3, V, rng(7))];
  for (const name of isa.names) {
    if (!isa.set(name)) continue;
    const together = await model.generate(primes, 12, { greedy: true, precision: 'bf16' });
    for (const [row, prime] of primes.entries()) {
      const alone = await model.generate(prime, 12, { greedy: true, precision: 'bf16' });
      expect(Array.from(together.subarray(row * 12, row * 12 + 12)), `${name} row ${row}`).toEqual(Array.from(alone));
    }
  }
  isa.set(original);
  model.dispose();
});

it('the text helpers pass precision through: streamed, batched and one-call samples agree', async () => {
  const { model } = modelWithWeights(700);
  const vocab = Vocabulary.fromText('abcdefghijklmnopqrstuvw');
  expect(vocab.size).toBe(V);
  const options = { prime: 'cab', length: 40, seed: 9, temperature: 1.2, precision: 'bf16' as const };
  const whole = await sampleText(model, vocab, options);
  let streamed = '';
  for await (const piece of streamText(model, vocab, { ...options, chunkSize: 7 })) streamed += piece;
  expect(streamed).toBe(whole);
  expect((await sampleTexts(model, vocab, { ...options, count: 1 }))[0]).toBe(whole);
  model.dispose();
});
