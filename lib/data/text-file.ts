// Streaming a large text file without reading it whole: encoded chunks, and stream batches whose
// B rows each read their own byte range of the file (memory: B read buffers, not the text).
import { open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { checkInt, checkKeys, checkObject } from '../validate.js';
import type { Vocabulary } from '../vocab.js';
import type { TokenBatch } from './text-batches.js';

/** Options of {@link encodeTextFile} and {@link fileStreamBatches}. */
export interface TextFileOptions {
  /** Bytes per read (default 64 KiB). */
  chunkBytes?: number;
}

/**
 * Encoded chunks of the file from byte `start` to `end` (exclusive), in order. UTF-8 sequences and
 * CRLF pairs split across reads are joined before encoding, so the ids equal vocab.encode(text).
 * @returns an async generator of the encoded chunks.
 * @throws (on the first iteration) TypeError or RangeError for a bad argument; the file system's error when the
 *   file cannot be read; the vocabulary's RangeError for an unknown character.
 */
export async function* encodeTextFile(
  path: string,
  vocab: Vocabulary,
  options: TextFileOptions & { start?: number; end?: number } = {},
): AsyncGenerator<Int32Array> {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  checkObject(options, 'options');
  checkKeys(options, ['chunkBytes', 'start', 'end'], 'text file options');
  const chunkBytes = checkInt(options.chunkBytes ?? 65536, 'options.chunkBytes', 1);
  const start = checkInt(options.start ?? 0, 'options.start', 0);
  const end = options.end === undefined ? Infinity : checkInt(options.end, 'options.end', start);
  if (end === start) return;
  const stream = createReadStream(path, { start, end: end === Infinity ? undefined : end - 1, highWaterMark: chunkBytes, encoding: 'utf8' });
  let held = '';
  for await (const piece of stream as AsyncIterable<string>) {
    let text = held + piece;
    held = '';
    // A CR at the end may be the first half of a CRLF the next read completes.
    if (vocab.normalizeNewlines && text.endsWith('\r')) {
      held = '\r';
      text = text.slice(0, -1);
    }
    if (text.length > 0) yield vocab.encode(text);
  }
  if (held) yield vocab.encode(held);
}

/**
 * The textbook stream layout (see streamBatches) over a file: row b reads the b-th of batchSize
 * equal byte ranges, and batch k row b continues batch k-1 row b, so state can be carried. Targets
 * are the true next token. Ends when the shortest row runs out.
 * @returns an async generator of {@link TokenBatch}es.
 * @throws (on the first iteration) TypeError or RangeError for a bad argument or a file too short for one
 *   batch; the file system's error when it cannot be read.
 */
export async function* fileStreamBatches(
  path: string,
  vocab: Vocabulary,
  batchSize: number,
  steps: number,
  options: TextFileOptions = {},
): AsyncGenerator<TokenBatch> {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  checkInt(batchSize, 'batchSize', 1);
  checkInt(steps, 'steps', 1);
  checkObject(options, 'options');
  checkKeys(options, ['chunkBytes'], 'text file options');
  const size = (await stat(path)).size;
  const bounds = await rangeStarts(path, size, batchSize, vocab.normalizeNewlines);
  const rows = bounds.map((s, b) => new TokenReader(encodeTextFile(path, vocab, { ...options, start: s, end: bounds[b + 1] ?? size })));
  try {
    for (;;) {
      const inputs = new Int32Array(batchSize * steps);
      const targets = new Int32Array(batchSize * steps);
      for (let b = 0; b < batchSize; b++) {
        const window = await rows[b].window(steps);
        if (!window) return;
        inputs.set(window.subarray(0, steps), b * steps);
        targets.set(window.subarray(1), b * steps);
      }
      yield { inputs, targets, batchSize, steps };
    }
  } finally {
    await Promise.all(rows.map((r) => r.close()));
  }
}

// Byte offsets where each row starts, moved forward onto a character boundary (never inside a
// UTF-8 sequence, never between the CR and LF of a CRLF).
async function rangeStarts(path: string, size: number, parts: number, crlf: boolean): Promise<number[]> {
  const file = await open(path, 'r');
  try {
    const starts = [0];
    const probe = Buffer.alloc(8);
    for (let b = 1; b < parts; b++) {
      let s = Math.floor((size * b) / parts);
      const { bytesRead } = await file.read(probe, 0, probe.length, Math.max(0, s - 1));
      let i = s > 0 ? 1 : 0;
      while (i < bytesRead && (probe[i] & 0xc0) === 0x80) i++;
      if (crlf && i > 0 && i < bytesRead && probe[i - 1] === 0x0d && probe[i] === 0x0a) i++;
      s = Math.min(size, Math.max(0, s - 1) + i);
      starts.push(Math.max(s, starts[starts.length - 1]));
    }
    return starts;
  } finally {
    await file.close();
  }
}

// Reads a chunk stream as overlapping windows: steps+1 tokens, the last kept as the next window's first.
class TokenReader {
  private buffer = new Int32Array(0);
  private offset = 0;

  constructor(private readonly chunks: AsyncGenerator<Int32Array>) {}

  async window(steps: number): Promise<Int32Array | null> {
    const need = steps + 1;
    while (this.buffer.length - this.offset < need) {
      const next = await this.chunks.next();
      if (next.done) return null;
      const rest = this.buffer.subarray(this.offset);
      const merged = new Int32Array(rest.length + next.value.length);
      merged.set(rest);
      merged.set(next.value, rest.length);
      this.buffer = merged;
      this.offset = 0;
    }
    const out = this.buffer.slice(this.offset, this.offset + need);
    this.offset += steps;
    return out;
  }

  async close(): Promise<void> {
    await this.chunks.return(undefined);
  }
}
