// Generation's helpers: the prime checked and flattened, and a generation drawn in chunks so that
// a signal can stop it between them.
import type { NativeGenerationState } from '../typings/model.js';
import { AbortError } from './abort.js';
import { checkIds, checkInt32Array } from './validate.js';

// Tokens drawn per native call when generate() has a signal to check between calls.
const ABORTABLE_CHUNK = 64;

/**
 * One sequence or several of equal length, every id in the vocabulary.
 * @returns the rows, flattened row-major, and their count.
 * @throws TypeError or RangeError naming the prime row at fault.
 */
export function checkPrime(prime: Int32Array | Int32Array[], vocab: number | undefined): { flat: Int32Array; rows: number } {
  const rows = Array.isArray(prime) ? prime : [prime];
  if (rows.length === 0) throw new RangeError('prime must hold at least one sequence');
  if (vocab === undefined) throw new TypeError('generate needs a model with token inputs');
  const primeLength = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    checkInt32Array(r, `prime[${i}]`);
    if (r.length !== primeLength || r.length === 0) throw new RangeError('prime sequences must be non-empty and of equal length');
    checkIds(r, `prime[${i}]`, vocab);
  });
  const flat = new Int32Array(rows.length * primeLength);
  rows.forEach((r, i) => flat.set(r, i * primeLength));
  return { flat, rows: rows.length };
}

type DrawChunk = (
  feed: Int32Array | Int32Array[],
  length: number,
  state: NativeGenerationState | null,
) => Promise<{ tokens: Int32Array; state: NativeGenerationState }>;

/**
 * generate() as chained chunks (the same draws), the signal checked before each one.
 * @returns the drawn tokens, row-major.
 * @throws AbortError holding the tokens drawn so far when the signal aborts it.
 */
export async function drawInChunks(
  drawChunk: DrawChunk,
  prime: Int32Array | Int32Array[],
  rows: number,
  length: number,
  signal: AbortSignal,
): Promise<Int32Array> {
  const drawn: Int32Array[] = [];
  let done = 0;
  let feed = Array.isArray(prime) ? prime : [prime];
  let state: NativeGenerationState | null = null;
  const tokens = (n: number) => {
    const out = new Int32Array(rows * n);
    for (let r = 0; r < rows; r++) {
      let at = r * n;
      for (const chunk of drawn) {
        const w = chunk.length / rows;
        out.set(chunk.subarray(r * w, (r + 1) * w), at);
        at += w;
      }
    }
    return out;
  };
  while (done < length) {
    const n = Math.min(ABORTABLE_CHUNK, length - done);
    let result: { tokens: Int32Array; state: NativeGenerationState };
    try {
      result = await drawChunk(feed, n, state);
    } catch (error) {
      if (!signal.aborted) throw error;
      throw new AbortError(`generation aborted after ${done} of ${length} tokens per row`, tokens(done), signal.reason);
    }
    drawn.push(result.tokens);
    state = result.state;
    done += n;
    feed = Array.from({ length: rows }, (_, r) => result.tokens.subarray(r * n + n - 1, (r + 1) * n));
  }
  return tokens(length);
}
