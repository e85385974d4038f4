// Text sampling: streams equal one generate() call, seeds fix the output, top-k / top-p /
// temperature draw from the right distribution (a model whose logits are its dense bias), stop
// strings cut across chunk boundaries, and unknown prime characters get a clear message.
import { describe, expect, it } from 'vitest';
import { Model, StopMatcher, Vocabulary, charModelConfig, sampleTexts, streamText } from '../lib/index.js';

const vocab = Vocabulary.fromText('abcdefgh \n');
const model = Model.create(charModelConfig({ vocabSize: vocab.size, units: 13, layers: 2, seed: 3 }));
const gru = Model.create({
  input: { type: 'embedding', vocabSize: vocab.size, dim: 4 },
  layers: [{ cell: 'gru', units: 7 }, { cell: 'rnn', units: 5 }],
  dense: [{ units: vocab.size }],
  seed: 9,
});

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const pieces: string[] = [];
  for await (const p of it) pieces.push(p);
  return pieces;
}

describe('streaming', () => {
  for (const [name, m] of [['lstm', model], ['gru+rnn', gru]] as const) {
    it(`draws exactly what one generate() call draws, in any chunk size (${name})`, async () => {
      const prime = 'abc h';
      const oneCall = vocab.decode(await m.generate(vocab.encode(prime), 57, { seed: 17, temperature: 0.8 }));
      for (const chunkSize of [1, 7, 32, 100]) {
        const pieces = await collect(streamText(m, vocab, { prime, length: 57, seed: 17, temperature: 0.8, chunkSize }));
        expect(pieces.join(''), `chunkSize ${chunkSize}`).toBe(oneCall);
        expect(pieces.length).toBe(Math.ceil(57 / chunkSize));
      }
    });
  }

  it('runs several samples as one batch, each its own row', async () => {
    const texts = await sampleTexts(model, vocab, { prime: 'ab', length: 20, seed: 4, count: 3, chunkSize: 6 });
    const rows = await model.generate([vocab.encode('ab'), vocab.encode('ab'), vocab.encode('ab')], 20, { seed: 4 });
    expect(texts).toEqual([0, 1, 2].map((r) => vocab.decode(rows.subarray(r * 20, r * 20 + 20))));
    expect(new Set(texts).size).toBeGreaterThan(1);
  });

  it('is reproducible for a seed and varies without one', async () => {
    const a = await sampleTexts(model, vocab, { prime: 'h', length: 40, seed: 99 });
    const b = await sampleTexts(model, vocab, { prime: 'h', length: 40, seed: 99 });
    const c = await sampleTexts(model, vocab, { prime: 'h', length: 40, seed: 100 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a[0]).toHaveLength(40);
  });
});

describe('stop strings', () => {
  it('cuts before the first stop string, also when it straddles pieces', () => {
    const s = new StopMatcher(['END', 'xy']);
    expect(s.push('abcE')).toBe('abc');
    expect(s.push('N')).toBe('');
    expect(s.push('Dzzz')).toBe('');
    expect(s.done).toBe(true);
    const t = new StopMatcher(['END']);
    expect(t.push('aEN')).toBe('a');
    expect(t.push('x')).toBe('ENx');
    expect(t.push('E')).toBe('');
    expect(t.flush()).toBe('E');
  });

  it('ends a sample early and a batch when every row has stopped', async () => {
    const full = (await sampleTexts(model, vocab, { prime: 'a', length: 200, seed: 5 }))[0];
    const stop = full.slice(30, 32);
    const first = full.indexOf(stop);
    for (const chunkSize of [1, 5, 64]) {
      const cut = await sampleTexts(model, vocab, { prime: 'a', length: 200, seed: 5, stop: [stop], chunkSize });
      expect(cut[0]).toBe(full.slice(0, first));
    }
    const streamed = await collect(streamText(model, vocab, { prime: 'a', length: 200, seed: 5, stop: [stop], chunkSize: 4 }));
    expect(streamed.join('')).toBe(full.slice(0, first));
    expect(streamed.length).toBeLessThan(50);
  });
});

describe('sampling distributions', () => {
  // All weights zero and the dense bias = log p: every step draws from exactly p.
  const p = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04];
  const fixed = Model.create({ input: { type: 'oneHot', vocabSize: 6 }, layers: [{ cell: 'lstm', units: 3 }], dense: [{ units: 6 }] });
  for (const param of fixed.params()) fixed.setParam(param.name, new Float64Array(param.shape.reduce((a, b) => a * b, 1)));
  fixed.setParam('dense.bias', Float64Array.from(p, Math.log));

  async function counts(options: object): Promise<number[]> {
    const rows = 400;
    const primes = Array.from({ length: rows }, (_, i) => Int32Array.of(i % 6));
    const drawn = await fixed.generate(primes, 50, { seed: 12345, ...options });
    const c = new Array(6).fill(0);
    drawn.forEach((t) => c[t]++);
    return c;
  }
  // Pearson's chi-square against the expected distribution; 20000 draws, critical values at p = 0.001.
  function chiSquare(observed: number[], expected: number[]): number {
    const n = observed.reduce((a, b) => a + b, 0);
    return observed.reduce((s, o, i) => (expected[i] > 0 ? s + (o - n * expected[i]) ** 2 / (n * expected[i]) : s), 0);
  }
  const normalise = (q: number[]) => q.map((x) => x / q.reduce((a, b) => a + b, 0));
  const CRITICAL = { 1: 10.83, 2: 13.82, 5: 20.52 } as const;

  it('draws from softmax(logits) at temperature 1 and softmax(logits / T) otherwise', async () => {
    expect(chiSquare(await counts({}), p)).toBeLessThan(CRITICAL[5]);
    const hot = normalise(p.map((x) => x ** (1 / 2)));
    expect(chiSquare(await counts({ temperature: 2 }), hot)).toBeLessThan(CRITICAL[5]);
    // The test can fail: the untempered counts are far from the tempered distribution.
    expect(chiSquare(await counts({}), hot)).toBeGreaterThan(100);
  });

  it('top-k keeps the k most likely tokens, renormalised', async () => {
    const c = await counts({ topK: 3 });
    expect(c.slice(3)).toEqual([0, 0, 0]);
    expect(chiSquare(c, normalise([...p.slice(0, 3), 0, 0, 0]))).toBeLessThan(CRITICAL[2]);
  });

  it('top-p keeps the smallest head reaching p, renormalised', async () => {
    const c = await counts({ topP: 0.6 });
    expect(c.slice(2)).toEqual([0, 0, 0, 0]);
    expect(chiSquare(c, normalise([p[0], p[1], 0, 0, 0, 0]))).toBeLessThan(CRITICAL[1]);
  });

  it('greedy always takes the most likely token', async () => {
    expect(await counts({ greedy: true })).toEqual([20000, 0, 0, 0, 0, 0]);
  });
});

describe('sampling arguments', () => {
  it('explains unknown prime characters and bad options', async () => {
    await expect(sampleTexts(model, vocab, { prime: 'abZ', length: 3 })).rejects.toThrow(
      /outside the vocabulary: "Z".*unknown: 'skip'/,
    );
    const skipping = Vocabulary.fromChars([...vocab.chars], { unknown: 'skip' });
    expect((await sampleTexts(model, skipping, { prime: 'abZ', length: 3, seed: 1 }))[0]).toHaveLength(3);
    await expect(sampleTexts(model, skipping, { prime: 'ZZ', length: 3 })).rejects.toThrow(/no character in the vocabulary/);
    await expect(sampleTexts(model, vocab, { prime: 'a', length: 3, stop: [''] })).rejects.toThrow(TypeError);
    await expect(sampleTexts(model, vocab, { prime: 'a', length: 3, topk: 2 } as never)).rejects.toThrow(/topk/);
    await expect(sampleTexts(model, vocab, { prime: 'a', length: -1 })).rejects.toThrow(RangeError);
    expect((await sampleTexts(model, vocab, { prime: 'a', length: 0 }))[0]).toBe('');
  });
});
