// The CPU's generation gang (native/cpu/decode.cc) against the per-character loop it replaces:
// addon.testing.cpuDecodeMembers switches it off (0: the loop), sizes it by the work (-1) or forces
// a gang of n threads. Every member computes its units' sums in the loop's order and member 0 runs
// the loop's own head and draw, so the tokens and the final state h/c must agree bit for bit, in
// fp32, bf16 and int8, for odd sizes, B = 1 and 3, LSTM (peepholes), GRU, one-hot and embedding
// inputs. The pool's task counter proves a gang ran; an injected task failure must reject the call
// and leave the model generating as before.
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/native.js';
import { Model, type ModelConfig, type SampleOptions } from '../lib/index.js';
import { DECODE_SAMPLING, drawInChunks, withRandomWeights } from './helpers/generation-reference.js';

const addon = loadNative({ backend: 'cpu' });
const twoThreads = addon.cpuIsa.threads() >= 2;
afterEach(() => {
  addon.testing.cpuDecodeMembers(-1);
  addon.testing.failPoolTask(0);
});

const V = 23;
const CONFIGS: Record<string, ModelConfig> = {
  'one-hot 2-layer LSTM (H 37, 70), tanh dense + output': {
    input: { type: 'oneHot', vocabSize: V },
    layers: [{ cell: 'lstm', units: 37 }, { cell: 'lstm', units: 70 }],
    dense: [{ units: 16, activation: 'tanh' }, { units: V }],
  },
  'embedding GRU (reset-after, H 65) + LSTM with peepholes (H 33)': {
    input: { type: 'embedding', vocabSize: V, dim: 12 },
    layers: [{ cell: 'gru', units: 65 }, { cell: 'lstm', units: 33, peephole: true }],
    dense: [{ units: V }],
  },
  'one-hot 3-layer LSTM H 96 (three slices of 32 units)': {
    input: { type: 'oneHot', vocabSize: V },
    layers: [{ cell: 'lstm', units: 96 }, { cell: 'lstm', units: 96 }, { cell: 'lstm', units: 96 }],
    dense: [{ units: V }],
  },
};

function model(config: ModelConfig, seed: number): Model {
  return withRandomWeights(Model.create({ ...config, backend: 'cpu', dtype: 'float32', seed }), seed);
}

function primes(B: number): Int32Array[] {
  return Array.from({ length: B }, (_, b) => Int32Array.from({ length: 5 }, (_, t) => (7 * b + 3 * t + 1) % V));
}

/** Pool tasks a call runs (failPoolTask armed far away only counts them). */
async function tasksOf<T>(call: () => Promise<T>): Promise<{ out: T; tasks: number }> {
  addon.testing.failPoolTask(1e9);
  const out = await call();
  const tasks = 1e9 - addon.testing.poolTaskCountdown();
  addon.testing.failPoolTask(0);
  return { out, tasks };
}

/**
 * One generateChunk from a zero state with the gang set to `members`, and the pool tasks of the
 * characters after the prime step (the decoded ones): those of the call less those of its first
 * character alone.
 */
async function withMembers(members: number, m: Model, prime: Int32Array[], length: number, options: SampleOptions) {
  addon.testing.cpuDecodeMembers(members);
  const first = await tasksOf(() => m.generateChunk(prime, 1, options, null));
  const { out, tasks } = await tasksOf(() => m.generateChunk(prime, length, options, null));
  return { out, tasks: tasks - first.tasks };
}

describe('CPU generation gang', () => {
  for (const precision of ['fp32', 'bf16', 'int8'] as const) {
    for (const [name, config] of Object.entries(CONFIGS)) {
      it(`${precision}, ${name}: tokens and final state equal the per-character loop (B = 1, 3; greedy, temperature, top-k, top-p)`, async () => {
        const m = model(config, 7);
        for (const B of [1, 3]) {
          for (const sampling of DECODE_SAMPLING) {
            const options = { ...sampling, precision };
            const label = `B=${B} ${JSON.stringify(options)}`;
            const ref = await withMembers(0, m, primes(B), 40, options);
            for (const members of [-1, 2]) {
              const { out: got, tasks } = await withMembers(members, m, primes(B), 40, options);
              // A forced gang of two is two pool tasks for all the decoded characters (none with one thread).
              if (members === 2) expect(tasks, `${label}: tasks of the gang`).toBe(twoThreads ? 2 : 0);
              expect(Array.from(got.tokens), `${label} members ${members}`).toEqual(Array.from(ref.out.tokens));
              expect(got.state.drawn).toBe(ref.out.state.drawn);
              got.state.h.forEach((h, l) => expect(Array.from(h), `${label} h[${l}]`).toEqual(Array.from(ref.out.state.h[l])));
              got.state.c.forEach((c, l) => expect(Array.from(c), `${label} c[${l}]`).toEqual(Array.from(ref.out.state.c[l])));
            }
            if (!sampling.greedy) expect(new Set(ref.out.tokens).size, `${label}: the draws vary`).toBeGreaterThan(2);
          }
        }
        m.dispose();
      });
    }
  }

  it('chunked generation draws what one call draws', async () => {
    const m = model(CONFIGS['embedding GRU (reset-after, H 65) + LSTM with peepholes (H 33)'], 5);
    const options = { seed: 21, temperature: 0.8, topK: 8, precision: 'bf16' as const };
    addon.testing.cpuDecodeMembers(0);
    const whole = await m.generate(primes(3), 70, options);
    addon.testing.cpuDecodeMembers(2);
    expect(await drawInChunks(m, primes(3), [7, 1, 2, 60], options)).toEqual(Array.from(whole));
    m.dispose();
  });

  it.skipIf(!twoThreads)('a member that fails rejects the call; the model then generates as before', async () => {
    const m = model(CONFIGS['one-hot 2-layer LSTM (H 37, 70), tanh dense + output'], 9);
    const options = { seed: 3, temperature: 0.9 };
    addon.testing.cpuDecodeMembers(2);
    const before = await m.generate(primes(2), 30, options);
    const prime = (await tasksOf(() => m.generate(primes(2), 1, options))).tasks;
    expect((await tasksOf(() => m.generate(primes(2), 30, options))).tasks).toBe(prime + 2);
    for (const n of [prime + 1, prime + 2]) {  // the gang's two tasks, whichever thread runs which
      addon.testing.failPoolTask(n);
      await expect(m.generate(primes(2), 30, options), `task ${n}`).rejects.toThrow(/out of memory/);
      expect(addon.testing.poolTaskCountdown(), `task ${n} fired`).toBe(0);
    }
    expect(Array.from(await m.generate(primes(2), 30, options))).toEqual(Array.from(before));
    m.dispose();
  });
});
