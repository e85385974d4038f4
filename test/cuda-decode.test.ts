// The persistent generation decoder (cuda/decode.cu) against the per-character loop it replaces:
// both paths forced in turn through FUSEDRNN_CUDA_RECURRENT (read by the addon on every call;
// 'stepwise' keeps the loop, 'persistent' demands the decoder), the stats counters proving which
// ran. The decoder computes every product in the per-step path's order (the recurrent product is
// the per-step kernel's own split-K code, the projections and the head repeat gemm.cu's per-element
// chain, the sampling rule is sample.cu's), so the two must agree bit for bit: the tokens, and the
// final state h/c that generateChunk returns. Also: chunked generation equals one call, calls longer
// than one launch, and a model the decoder cannot hold falls back (auto) or is refused (forced).
// Skipped, with the probe's reason, where no GPU is usable.
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/native.js';
import { Model, Vocabulary, streamText, type ModelConfig, type SampleOptions } from '../lib/index.js';
import { DECODE_SAMPLING, withRandomWeights } from './helpers/generation-reference.js';

const addon = loadNative({ backend: 'cpu' });
const reason = !addon.buildInfo().cuda ? 'this build has no CUDA part (built without nvcc)' : addon.cudaProbe().ok ? '' : addon.cudaProbe().reason;
if (reason) console.log(`[cuda-decode] SKIPPED: ${reason}`);

type Path = 'persistent' | 'stepwise';
const ENV = ['FUSEDRNN_CUDA_RECURRENT'];
afterEach(() => {
  for (const k of ENV) delete process.env[k];
});

const V = 23;
const CONFIGS: Record<string, ModelConfig> = {
  'one-hot 2-layer LSTM, tanh dense + output': {
    input: { type: 'oneHot', vocabSize: V },
    layers: [{ cell: 'lstm', units: 40 }, { cell: 'lstm', units: 24 }],
    dense: [{ units: 16, activation: 'tanh' }, { units: V }],
  },
  'embedding GRU (reset-after) + LSTM with peepholes': {
    input: { type: 'embedding', vocabSize: V, dim: 12 },
    layers: [{ cell: 'gru', units: 36 }, { cell: 'lstm', units: 20, peephole: true }],
    dense: [{ units: V }],
  },
  'one-hot reset-before GRU + tanh RNN': {
    input: { type: 'oneHot', vocabSize: V },
    layers: [{ cell: 'gru', units: 17, resetBefore: true }, { cell: 'rnn', units: 9 }],
    dense: [{ units: V }],
  },
  'W4 shape: one-hot 2-layer LSTM H=256, V=83': {
    input: { type: 'oneHot', vocabSize: 83 },
    layers: [{ cell: 'lstm', units: 256 }, { cell: 'lstm', units: 256 }],
    dense: [{ units: 83 }],
  },
};

function model(config: ModelConfig, precision: 'fp32' | 'tf32', seed: number): Model {
  return withRandomWeights(Model.create({ ...config, backend: 'cuda', precision, seed }), seed);
}

function vocabSize(config: ModelConfig): number {
  return (config.input as { vocabSize: number }).vocabSize;
}

function primes(B: number, vocab: number): Int32Array[] {
  return Array.from({ length: B }, (_, b) => Int32Array.from({ length: 5 }, (_, t) => (7 * b + 3 * t + 1) % vocab));
}

/** One generateChunk from a zero state with the path forced; checks that this path (and only it) ran. */
async function onPath(path: Path, m: Model, prime: Int32Array[], length: number, options: SampleOptions, launches = 1) {
  process.env.FUSEDRNN_CUDA_RECURRENT = path;
  const before = addon.cudaRecurrentStats();
  const out = await m.generateChunk(prime, length, options, null);
  const after = addon.cudaRecurrentStats();
  const persistent = after.persistentDecode - before.persistentDecode;
  const stepwise = after.stepwiseDecode - before.stepwiseDecode;
  expect(persistent, `${path}: decoder launches`).toBe(path === 'persistent' ? launches : 0);
  expect(stepwise, `${path}: per-character fallbacks`).toBe(path === 'persistent' ? 0 : 1);
  return out;
}

describe.skipIf(reason !== '')(`persistent generation decoder${reason ? ` [skipped: ${reason}]` : ''}`, () => {
  for (const precision of ['fp32', 'tf32'] as const) {
    for (const [name, config] of Object.entries(CONFIGS)) {
      it(`${precision}, ${name}: tokens and final state equal the per-character loop (B = 1, 3; greedy, temperature, top-k, top-p)`, async () => {
        const m = model(config, precision, 7);
        const vocab = vocabSize(config);
        for (const B of [1, 3]) {
          for (const options of DECODE_SAMPLING) {
            const label = `B=${B} ${JSON.stringify(options)}`;
            const ref = await onPath('stepwise', m, primes(B, vocab), 40, options);
            const got = await onPath('persistent', m, primes(B, vocab), 40, options);
            expect(Array.from(got.tokens), label).toEqual(Array.from(ref.tokens));
            expect(got.state.drawn).toBe(ref.state.drawn);
            got.state.h.forEach((h, l) => expect(Array.from(h), `${label} h[${l}]`).toEqual(Array.from(ref.state.h[l])));
            got.state.c.forEach((c, l) => expect(Array.from(c), `${label} c[${l}]`).toEqual(Array.from(ref.state.c[l])));
            if (!options.greedy) expect(new Set(got.tokens).size, `${label}: the draws vary`).toBeGreaterThan(2);
          }
        }
        m.dispose();
      });
    }
  }

  it('a call longer than one launch (600 characters = 3 launches) equals the per-character loop', async () => {
    const m = model(CONFIGS['one-hot 2-layer LSTM, tanh dense + output'], 'tf32', 3);
    const options = { temperature: 0.9, seed: 4 };
    const ref = await onPath('stepwise', m, primes(2, V), 601, options);
    const got = await onPath('persistent', m, primes(2, V), 601, options, 3);
    expect(Array.from(got.tokens)).toEqual(Array.from(ref.tokens));
    m.dispose();
  });

  it('chunked generation (generateChunk, streamText) draws what one call draws, a decoder launch per chunk', async () => {
    const m = model(CONFIGS['embedding GRU (reset-after) + LSTM with peepholes'], 'tf32', 5);
    const options = { seed: 21, temperature: 0.8, topK: 8 };
    process.env.FUSEDRNN_CUDA_RECURRENT = 'stepwise';
    const whole = await m.generate(primes(3, V), 70, options);
    delete process.env.FUSEDRNN_CUDA_RECURRENT;
    const before = addon.cudaRecurrentStats();
    let state = null;
    let prime = primes(3, V);
    const rows: number[][] = [[], [], []];
    for (const n of [7, 1, 2, 60]) {
      const chunk = await m.generateChunk(prime, n, options, state);
      for (let b = 0; b < 3; b++) rows[b].push(...chunk.tokens.subarray(b * n, (b + 1) * n));
      state = chunk.state;
      prime = rows.map((r) => Int32Array.of(r[r.length - 1]));
    }
    // A chunk of n draws runs its first character with the prime, the other n - 1 in the decoder.
    expect(addon.cudaRecurrentStats().persistentDecode - before.persistentDecode).toBe(3);
    expect(rows.flat()).toEqual(Array.from(whole));

    const vocab = Vocabulary.fromChars(Array.from({ length: V }, (_, i) => String.fromCharCode(65 + i)));
    const text = { prime: 'ABC', length: 57, seed: 17, temperature: 0.8 };
    process.env.FUSEDRNN_CUDA_RECURRENT = 'stepwise';
    let oneCall = '';
    for await (const piece of streamText(m, vocab, { ...text, chunkSize: 57 })) oneCall += piece;
    delete process.env.FUSEDRNN_CUDA_RECURRENT;
    const mark = addon.cudaRecurrentStats().persistentDecode;
    let streamed = '';
    for await (const piece of streamText(m, vocab, { ...text, chunkSize: 16 })) streamed += piece;
    expect(streamed).toBe(oneCall);
    expect(addon.cudaRecurrentStats().persistentDecode - mark).toBe(4);
    m.dispose();
  });

  it('a model the decoder cannot hold falls back (auto) and is refused (forced)', async () => {
    const big: ModelConfig = { input: { type: 'oneHot', vocabSize: 1500 }, layers: [{ cell: 'gru', units: 8 }], dense: [{ units: 1500 }] };
    const m = model(big, 'fp32', 9);
    const prime = [Int32Array.of(1, 2, 3)];
    const before = addon.cudaRecurrentStats();
    const auto = await m.generate(prime, 12, { seed: 2 });
    const after = addon.cudaRecurrentStats();
    expect(after.stepwiseDecode - before.stepwiseDecode).toBe(1);
    expect(after.persistentDecode - before.persistentDecode).toBe(0);
    process.env.FUSEDRNN_CUDA_RECURRENT = 'stepwise';
    expect(Array.from(await m.generate(prime, 12, { seed: 2 }))).toEqual(Array.from(auto));
    process.env.FUSEDRNN_CUDA_RECURRENT = 'persistent';
    await expect(m.generate(prime, 12, { seed: 2 })).rejects.toThrow(/persistent generation decoder cannot run this model/);
    m.dispose();
  });
});
