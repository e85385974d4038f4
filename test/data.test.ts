// Data utilities: exact outputs on small inputs, and the argument checks.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Vocabulary,
  bucketByLength,
  countStreamBatches,
  encodeTextFile,
  exampleBatches,
  fileStreamBatches,
  padSequences,
  randomWindows,
  seededRandom,
  slidingWindows,
  streamBatches,
  textbookBatches,
} from '../lib/index.js';

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const rows = (a: Int32Array, width: number) => Array.from({ length: a.length / width }, (_, r) => [...a.subarray(r * width, (r + 1) * width)]);

describe('textbookBatches (anna-KaRNNa get_batches)', () => {
  it('reproduces the book on arange(23), n_seqs=2, n_steps=3', () => {
    // numpy: arr[:18].reshape(2, 9) = [[0..8], [9..17]]; windows of 3 columns; y[:, -1] = x[:, 0].
    const batches = [...textbookBatches(range(23), 2, 3)];
    expect(batches.length).toBe(3);
    expect(batches.map((b) => rows(b.inputs, 3))).toEqual([
      [[0, 1, 2], [9, 10, 11]],
      [[3, 4, 5], [12, 13, 14]],
      [[6, 7, 8], [15, 16, 17]],
    ]);
    expect(batches.map((b) => rows(b.targets, 3))).toEqual([
      [[1, 2, 0], [10, 11, 9]],
      [[4, 5, 3], [13, 14, 12]],
      [[7, 8, 6], [16, 17, 15]],
    ]);
    expect(countStreamBatches(23, 2, 3, 'textbook')).toBe(3);
  });

  it('the sane variant takes the true next token, and rows continue across batches', () => {
    const batches = [...streamBatches(range(23), 2, 3)];
    // (23 - 1) / 2 = 11 tokens per stream -> 3 windows of 3; stream 1 starts at 11.
    expect(batches.length).toBe(3);
    expect(countStreamBatches(23, 2, 3)).toBe(3);
    expect(rows(batches[0].inputs, 3)).toEqual([[0, 1, 2], [11, 12, 13]]);
    expect(rows(batches[0].targets, 3)).toEqual([[1, 2, 3], [12, 13, 14]]);
    expect(rows(batches[2].targets, 3)).toEqual([[7, 8, 9], [18, 19, 20]]);
  });

  it('rejects bad arguments by name', () => {
    expect(() => [...textbookBatches(range(5), 2, 3)]).toThrow(RangeError);
    expect(() => [...textbookBatches([1, 2] as unknown as Int32Array, 1, 1)]).toThrow(/ids must be an Int32Array/);
    expect(() => [...streamBatches(range(50), 0, 3)]).toThrow(/batchSize/);
  });
});

describe('windows', () => {
  it('slidingWindows is generate_data: X[i] = seq[i:i+T], y[i] = seq[i+T]', () => {
    const w = slidingWindows([0.5, 1.5, 2.5, 3.5, 4.5], 3);
    expect(w.count).toBe(2);
    expect([...w.inputs]).toEqual([0.5, 1.5, 2.5, 1.5, 2.5, 3.5]);
    expect([...w.targets]).toEqual([3.5, 4.5]);
    expect(() => slidingWindows([1, 2, 3], 3)).toThrow(/steps/);
    expect(() => slidingWindows([1, NaN, 3, 4], 2)).toThrow(/finite/);
  });

  it('randomWindows draws in-range starts with next-token targets, repeatably per seed', () => {
    const ids = range(40).map((x) => x * 3);
    const a = randomWindows(ids, 6, 5, { seed: 9 });
    const b = randomWindows(ids, 6, 5, { seed: 9 });
    const c = randomWindows(ids, 6, 5, { seed: 10 });
    expect(a.inputs).toEqual(b.inputs);
    expect(a.inputs).not.toEqual(c.inputs);
    for (let r = 0; r < 6; r++) {
      const start = a.inputs[r * 5] / 3;
      expect(start).toBeGreaterThanOrEqual(0);
      expect(start).toBeLessThanOrEqual(40 - 5 - 1);
      expect(rows(a.inputs, 5)[r]).toEqual([0, 1, 2, 3, 4].map((i) => (start + i) * 3));
      expect(rows(a.targets, 5)[r]).toEqual([1, 2, 3, 4, 5].map((i) => (start + i) * 3));
    }
  });

  it('seededRandom is uniform enough and repeatable', () => {
    const r = seededRandom(123);
    const xs = Array.from({ length: 10000 }, r);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 5 }, seededRandom(123))).toEqual(xs.slice(0, 5));
  });
});

describe('exampleBatches', () => {
  const set = { inputs: Float32Array.from({ length: 5 * 2 * 3 }, (_, i) => i), targets: Int32Array.from([0, 1, 2, 3, 4]), count: 5, steps: 2 };

  it('cuts in order with a short last batch, or drops it', () => {
    const b = [...exampleBatches(set, 2)];
    expect(b.map((x) => x.batchSize)).toEqual([2, 2, 1]);
    expect([...b[2].targets]).toEqual([4]);
    expect([...b[2].inputs]).toEqual([24, 25, 26, 27, 28, 29]);
    expect([...exampleBatches(set, 2, { dropRemainder: true })].length).toBe(2);
  });

  it('shuffles each example with its target, repeatably per seed', () => {
    const b = [...exampleBatches(set, 5, { shuffle: true, seed: 4 })][0];
    const again = [...exampleBatches(set, 5, { shuffle: true, seed: 4 })][0];
    expect(b.targets).toEqual(again.targets);
    expect([...b.targets].sort()).toEqual([0, 1, 2, 3, 4]);
    for (let r = 0; r < 5; r++) expect(b.inputs[r * 6]).toBe(b.targets[r] * 6);
    expect(() => [...exampleBatches(set, 2, { shufle: true } as never)]).toThrow(/did you mean 'shuffle'/);
  });
});

describe('padding and bucketing', () => {
  it('padSequences pads after the end, with lengths and a step mask', () => {
    const p = padSequences([[1, 2, 3], [4], [5, 6]], { value: 9 });
    expect(p.data).toBeInstanceOf(Int32Array);
    expect([...p.data]).toEqual([1, 2, 3, 4, 9, 9, 5, 6, 9]);
    expect([...p.lengths]).toEqual([3, 1, 2]);
    expect([...p.mask]).toEqual([1, 1, 1, 1, 0, 0, 1, 1, 0]);
    const f = padSequences([Float32Array.from([0.5, 1, 2, 3]), Float32Array.from([7, 8])], { width: 2, steps: 3 });
    expect(f.data).toBeInstanceOf(Float32Array);
    expect([...f.data]).toEqual([0.5, 1, 2, 3, 0, 0, 7, 8, 0, 0, 0, 0]);
    expect([...f.lengths]).toEqual([2, 1]);
    expect(() => padSequences([[1, 2, 3]], { width: 2 })).toThrow(/multiple of width/);
    expect(() => padSequences([])).toThrow(TypeError);
  });

  it('bucketByLength covers every example once, in batches of similar length', () => {
    const lengths = [5, 1, 9, 2, 8, 3, 7, 4, 6, 10, 1];
    const buckets = bucketByLength(lengths, 3, { seed: 2 });
    const all = buckets.flatMap((b) => [...b]).sort((a, b) => a - b);
    expect(all).toEqual(lengths.map((_, i) => i));
    expect(buckets.map((b) => b.length).sort()).toEqual([2, 3, 3, 3]);
    // Sorted runs of 3 from 11 lengths 1..10: a batch's spread is at most 2.
    for (const b of buckets) {
      const ls = [...b].map((i) => lengths[i]);
      expect(Math.max(...ls) - Math.min(...ls)).toBeLessThanOrEqual(2);
    }
    const plain = bucketByLength(lengths, 3, { shuffle: false });
    expect([...plain[0]].map((i) => lengths[i])).toEqual([1, 1, 2]);
  });
});

describe('streaming a text file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-data-'));
  // Multi-byte characters (2, 3 and 4 bytes) and CRLFs, so tiny reads split both.
  const text = 'Ännä «Karenina»\r\nhappy families 🙂 are all alike;\r\nevery unhappy one 家族 differently.\r\n'.repeat(7);
  const path = join(dir, 'corpus.txt');
  writeFileSync(path, text);
  const vocab = Vocabulary.fromText(text);

  it('encodeTextFile gives vocab.encode(text) for any read size', async () => {
    const whole = vocab.encode(text);
    for (const chunkBytes of [1, 2, 3, 7, 64, 1 << 16]) {
      const parts: number[] = [];
      for await (const chunk of encodeTextFile(path, vocab, { chunkBytes })) parts.push(...chunk);
      expect(Int32Array.from(parts)).toEqual(whole);
    }
  });

  it('fileStreamBatches: rows read their own ranges, continue across batches, targets are the next token', async () => {
    const whole = vocab.encode(text);
    const batches = [];
    for await (const b of fileStreamBatches(path, vocab, 3, 8, { chunkBytes: 5 })) batches.push(b);
    expect(batches.length).toBeGreaterThan(3);
    for (let r = 0; r < 3; r++) {
      const row = batches.flatMap((b) => [...b.inputs.subarray(r * 8, r * 8 + 8)]);
      const last = batches[batches.length - 1].targets[r * 8 + 7];
      const rowWithNext = [...row, last];
      // The row is a contiguous piece of the whole text.
      const start = whole.findIndex((_, i) => rowWithNext.every((x, j) => whole[i + j] === x));
      expect(start).toBeGreaterThanOrEqual(0);
      for (const b of batches) expect([...b.targets.subarray(r * 8, r * 8 + 7)]).toEqual([...b.inputs.subarray(r * 8 + 1, r * 8 + 8)]);
    }
    expect(batches[0].inputs[0]).toBe(whole[0]);
  });
});
