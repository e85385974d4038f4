// Windows over one series or text: every window (the sin example's generate_data) and random
// windows (the Nietzsche example's get_batch).
import { checkFloatArray, checkInt, checkInt32Array } from '../validate.js';
import type { TokenBatch } from './text-batches.js';
import { seededRandom, type Random } from './random.js';

/** What {@link slidingWindows} returns: every window of a series and the value after each. */
export interface SeriesWindows {
  /** [count * steps] window values, row-major. */
  inputs: Float32Array;
  /** [count] the value right after each window. */
  targets: Float32Array;
  count: number;
  steps: number;
}

/**
 * Every window of `steps` consecutive values and the value that follows it (generate_data:
 * X[i] = seq[i:i+steps], y[i] = seq[i+steps] for i in range(len(seq) - steps)).
 * @returns the windows and the value after each.
 * @throws TypeError or RangeError naming the argument when one is missing, of the wrong type or out of range
 *   (the series must be longer than `steps`).
 */
export function slidingWindows(series: ArrayLike<number>, steps: number): SeriesWindows {
  const values = series instanceof Float32Array || series instanceof Float64Array ? series : Float64Array.from(series);
  checkFloatArray(values, 'series');
  checkInt(steps, 'steps', 1);
  const count = values.length - steps;
  if (count < 1) throw new RangeError(`series (${values.length} values) needs more than steps = ${steps} values`);
  const inputs = new Float32Array(count * steps);
  const targets = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    inputs.set(values.subarray(i, i + steps), i * steps);
    targets[i] = values[i + steps];
  }
  return { inputs, targets, count, steps };
}

/** Options of {@link randomWindows}. */
export interface RandomWindowOptions {
  /** Seeds the start positions (ignored when `random` is given). */
  seed?: number;
  /** A generator to draw from instead, e.g. one shared across epochs. */
  random?: Random;
}

/**
 * `batchSize` windows at uniformly random starts (get_batch): inputs ids[s : s+steps], targets
 * ids[s+1 : s+steps+1], s drawn from [0, length - steps - 1].
 * @returns one {@link TokenBatch}.
 * @throws TypeError or RangeError naming the argument when one is missing, of the wrong type or out of range
 *   (the text must be longer than `steps`).
 */
export function randomWindows(ids: Int32Array, batchSize: number, steps: number, options: RandomWindowOptions = {}): TokenBatch {
  checkInt32Array(ids, 'ids');
  checkInt(batchSize, 'batchSize', 1);
  checkInt(steps, 'steps', 1);
  const starts = ids.length - steps;
  if (starts < 1) throw new RangeError(`ids (${ids.length} tokens) needs more than steps = ${steps} tokens`);
  const random = options.random ?? seededRandom(options.seed ?? 0);
  const inputs = new Int32Array(batchSize * steps);
  const targets = new Int32Array(batchSize * steps);
  for (let b = 0; b < batchSize; b++) {
    const s = Math.floor(random() * starts);
    inputs.set(ids.subarray(s, s + steps), b * steps);
    targets.set(ids.subarray(s + 1, s + steps + 1), b * steps);
  }
  return { inputs, targets, batchSize, steps };
}
