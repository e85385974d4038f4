// Text sampling from a model and its vocabulary: prime, length, temperature / top-k / top-p /
// greedy, a seed, stop strings, several samples at once, and streaming. The native side runs one
// recurrent step per character and carries the state between chunks, so a stream draws exactly
// what one long generate() call with the same seed draws.
import { AbortError } from './abort.js';
import type { Model, SampleOptions } from './model.js';
import { SAMPLE_OPTIONS } from './options/sample.js';
import { keysOf } from './options/table.js';
import { checkInt, checkKeys, checkObject } from './validate.js';
import { checkSignal } from './abort.js';
import type { Vocabulary } from './vocab.js';

/** Options of {@link sampleTexts} and {@link streamText}: the prime, the length, stop strings and how each character is drawn. */
export interface TextSampleOptions extends SampleOptions {
  /** Text fed before sampling (its state primes the model); not part of the output. */
  prime: string;
  /** Characters to draw (at most; a stop string ends a sample early). */
  length: number;
  /** A sample ends before the first occurrence of any of these; the stop string is not output. */
  stop?: string[];
  /** Characters drawn per native call while streaming (default 32). */
  chunkSize?: number;
  /**
   * Checked before each chunk (and while a chunk waits in the model's queue). streamText then ends
   * its iteration after the pieces already yielded; sampleTexts rejects with an AbortError whose
   * `partial` is the text drawn so far per sample (cause: signal.reason). The model is untouched.
   */
  signal?: AbortSignal;
}

// The text options, then how each character is drawn (Model.generate's options).
const OPTION_KEYS = ['prime', 'length', 'stop', 'chunkSize', ...keysOf(SAMPLE_OPTIONS)];

/**
 * Streams one sample as it is drawn: an AsyncIterable of text pieces.
 * @returns an async iterable of text pieces; together they are the sample, cut before the first stop string.
 *   An aborted options.signal ends the iteration after the pieces already yielded.
 * @throws (on the first iteration) TypeError or RangeError naming the option that is invalid, or the prime's
 *   first unknown character.
 */
export async function* streamText(model: Model, vocab: Vocabulary, options: TextSampleOptions): AsyncGenerator<string> {
  for await (const pieces of streamRows(model, vocab, options, 1, { aborted: false })) {
    if (pieces[0]) yield pieces[0];
  }
}

/**
 * `count` independent samples from the same prime, drawn as one batch.
 * @returns a promise of `count` strings of up to `length` characters each (cut at a stop string).
 * @throws TypeError or RangeError (as a rejection) naming the option that is invalid, or the prime's first
 *   unknown character; an AbortError carrying the partial texts when options.signal aborts it.
 */
export async function sampleTexts(
  model: Model,
  vocab: Vocabulary,
  options: TextSampleOptions & { count?: number },
): Promise<string[]> {
  checkObject(options, 'options');
  const { count, ...rest } = options;
  const rows = checkInt(count ?? 1, 'options.count', 1, 1 << 16);
  const out = new Array<string>(rows).fill('');
  const status = { aborted: false };
  for await (const pieces of streamRows(model, vocab, rest, rows, status)) pieces.forEach((p, i) => (out[i] += p));
  if (status.aborted) throw new AbortError('sampling aborted', out, options.signal!.reason);
  return out;
}

// Draws chunk by chunk; an aborted signal stops it between chunks and sets status.aborted.
async function* streamRows(model: Model, vocab: Vocabulary, options: TextSampleOptions, rows: number, status: { aborted: boolean }): AsyncGenerator<string[]> {
  checkObject(options, 'options');
  checkKeys(options, OPTION_KEYS, 'sample options');
  const { prime, length, stop, chunkSize, ...sample } = options;
  const signal = checkSignal(sample.signal);
  checkInt(length, 'options.length', 0, 1 << 24);
  const chunk = checkInt(chunkSize ?? 32, 'options.chunkSize', 1, 1 << 20);
  const stops = checkStops(stop);
  // One seed for the whole stream: each chunk must continue the same sequence of draws.
  const seeded: SampleOptions = { ...sample, seed: sample.seed ?? SAMPLE_OPTIONS.seed.defaultFrom() };
  const primeIds = encodePrime(vocab, prime);
  const matchers = Array.from({ length: rows }, () => new StopMatcher(stops));
  let feed: Int32Array[] = Array.from({ length: rows }, () => primeIds);
  let state = null;
  for (let drawn = 0; drawn < length && !matchers.every((m) => m.done); ) {
    const n = Math.min(chunk, length - drawn);
    let result;
    try {
      if (signal?.aborted) throw signal.reason;
      result = await model.generateChunk(feed, n, seeded, state);
    } catch (error) {
      if (!signal?.aborted) throw error;
      status.aborted = true;
      return;
    }
    state = result.state;
    drawn += n;
    const last = drawn >= length;
    const pieces = matchers.map((m, r) => {
      const text = vocab.decode(result.tokens.subarray(r * n, (r + 1) * n));
      return m.push(text) + (last ? m.flush() : '');
    });
    feed = Array.from({ length: rows }, (_, r) => result.tokens.subarray(r * n + n - 1, (r + 1) * n));
    yield pieces;
  }
}

/**
 * @internal The prime's ids under the vocabulary's unknown-character policy. Throws TypeError for
 * an empty prime, RangeError for a character the vocabulary lacks (policy 'error') or when the
 * policy 'skip' drops every character.
 */
export function encodePrime(vocab: Vocabulary, prime: string): Int32Array {
  if (typeof prime !== 'string' || prime.length === 0) throw new TypeError('options.prime must be a non-empty string');
  let ids: Int32Array;
  try {
    ids = vocab.encode(prime);
  } catch (error) {
    throw new RangeError(
      `options.prime: ${(error as Error).message} (the vocabulary's unknown-character policy is 'error'; ` +
        `build it with { unknown: 'skip' } to drop such characters)`,
    );
  }
  if (ids.length === 0) throw new RangeError("options.prime has no character in the vocabulary (policy 'skip' dropped them all)");
  return ids;
}

function checkStops(stop: unknown): string[] {
  if (stop === undefined) return [];
  if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new TypeError('options.stop must be an array of non-empty strings');
  }
  return stop as string[];
}

/**
 * Cuts a stream of text before the first stop string. Text that could still be the start of a
 * stop string is held back until the next piece decides it.
 */
export class StopMatcher {
  done = false;
  private held = '';

  /** A matcher for `stops`, the strings that end the stream (the first one found wins; it is not output). */
  constructor(private readonly stops: readonly string[]) {}

  /** Appends `text`; returns what is safe to output now. */
  push(text: string): string {
    if (this.done) return '';
    const all = this.held + text;
    let cut = -1;
    for (const s of this.stops) {
      const at = all.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.done = true;
      this.held = '';
      return all.slice(0, cut);
    }
    const keep = this.longestPendingSuffix(all);
    this.held = all.slice(all.length - keep);
    return all.slice(0, all.length - keep);
  }

  /** The end of the stream: what was held back was no stop string after all. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  private longestPendingSuffix(text: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > best; k--) {
        if (text.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
