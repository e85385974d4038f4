// Batches over one encoded text, laid out as B contiguous streams walked T steps at a time, so
// row b of batch k continues row b of batch k-1 and the recurrent state can be carried across
// batches (truncated BPTT). Two target rules share that layout:
//  - 'next' (the sane one): the target of every step is the true next token;
//  - 'textbook': Udacity's anna-KaRNNa get_batches, reproduced exactly, quirk included.
import { checkInt, checkInt32Array, checkOneOf } from '../validate.js';

/** A batch of token ids and next-token targets, `[batchSize * steps]` each: a {@link Batch} for token models. */
export interface TokenBatch {
  inputs: Int32Array;
  targets: Int32Array;
  batchSize: number;
  steps: number;
}

/**
 * Splits `ids` into `batchSize` contiguous streams and walks them `steps` at a time; targets are
 * the next token. A tail shorter than `steps` is dropped.
 * @returns a generator of {@link TokenBatch}es.
 * @throws (on the first iteration) TypeError or RangeError naming the argument when one is missing, of the
 *   wrong type or out of range (the text must hold at least one batch).
 */
export function* streamBatches(ids: Int32Array, batchSize: number, steps: number): Generator<TokenBatch> {
  checkInt32Array(ids, 'ids');
  checkInt(batchSize, 'batchSize', 1);
  checkInt(steps, 'steps', 1);
  // One token is kept back so the last input of every stream still has a true next token.
  const streamLength = Math.floor((ids.length - 1) / batchSize);
  const count = Math.floor(streamLength / steps);
  if (count === 0) throw new RangeError(`ids (${ids.length} tokens) is too short for one ${batchSize}x${steps} batch`);
  for (let k = 0; k < count; k++) yield streamWindow(ids, batchSize, steps, streamLength, k, 'next');
}

/**
 * The textbook generator (anna-KaRNNa `get_batches(arr, n_seqs, n_steps)`), exactly: the text is
 * cut to a whole number of n_seqs*n_steps batches, reshaped to n_seqs rows, walked n_steps
 * columns at a time; y is x shifted left by one with y[:, -1] = x[:, 0] (the first input of the
 * window, not the true next character: a quirk kept so results compare with the book's).
 * @returns a generator of {@link TokenBatch}es.
 * @throws (on the first iteration) TypeError or RangeError naming the argument when one is missing, of the
 *   wrong type or out of range (the text must hold at least one batch).
 */
export function* textbookBatches(ids: Int32Array, nSeqs: number, nSteps: number): Generator<TokenBatch> {
  checkInt32Array(ids, 'ids');
  checkInt(nSeqs, 'nSeqs', 1);
  checkInt(nSteps, 'nSteps', 1);
  const count = Math.floor(ids.length / (nSeqs * nSteps));
  if (count === 0) throw new RangeError(`ids (${ids.length} tokens) is too short for one ${nSeqs}x${nSteps} batch`);
  for (let k = 0; k < count; k++) yield streamWindow(ids, nSeqs, nSteps, count * nSteps, k, 'textbook');
}

/**
 * How many batches streamBatches / textbookBatches yield for these sizes.
 * @returns the number of batches.
 * @throws TypeError or RangeError naming the argument when one is missing, of the wrong type or out of range.
 */
export function countStreamBatches(length: number, batchSize: number, steps: number, rule: 'next' | 'textbook' = 'next'): number {
  checkInt(length, 'length', 0);
  checkInt(batchSize, 'batchSize', 1);
  checkInt(steps, 'steps', 1);
  checkOneOf(rule, 'rule', ['next', 'textbook'] as const);
  return rule === 'next' ? Math.floor(Math.floor(Math.max(0, length - 1) / batchSize) / steps) : Math.floor(length / (batchSize * steps));
}

function streamWindow(ids: Int32Array, B: number, T: number, streamLength: number, k: number, rule: 'next' | 'textbook'): TokenBatch {
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = b * streamLength + k * T;
    inputs.set(ids.subarray(start, start + T), b * T);
    if (rule === 'next') {
      targets.set(ids.subarray(start + 1, start + T + 1), b * T);
    } else {
      targets.set(ids.subarray(start + 1, start + T), b * T);
      targets[b * T + T - 1] = ids[start];
    }
  }
  return { inputs, targets, batchSize: B, steps: T };
}
