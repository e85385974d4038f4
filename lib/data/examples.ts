// Batches over a set of equal-shaped examples held in flat arrays (windows, images as rows),
// shuffled per epoch with a seed.
import { checkInt, checkKeys, checkObject } from '../validate.js';
import { seededRandom, shuffledIndices } from './random.js';

/** A flat typed array of examples' values (token ids or numbers), row-major. */
export type Flat = Int32Array | Float32Array | Float64Array;

/** Equal-shaped examples held in flat arrays: `count` examples of `steps` steps each. */
export interface ExampleSet<I extends Flat = Flat, O extends Flat = Flat> {
  /** [count * steps * inputWidth] */
  inputs: I;
  /** [count * targetWidth] for one target per example, or [count * steps * targetWidth] per step. */
  targets: O;
  count: number;
  steps: number;
}

/** Options of {@link exampleBatches}. */
export interface ExampleBatchOptions {
  /** Shuffle the order each call (default false); the order depends on seed only. */
  shuffle?: boolean;
  seed?: number;
  /** Drop a last batch smaller than batchSize (default false). */
  dropRemainder?: boolean;
}

/** A batch of examples from {@link exampleBatches}, a {@link Batch} for `trainStep`. */
export interface ExampleBatch<I extends Flat = Flat, O extends Flat = Flat> {
  inputs: I;
  targets: O;
  batchSize: number;
  steps: number;
}

/**
 * Cuts `set` into batches of `batchSize` examples (the last one may be smaller).
 * @returns a generator of {@link ExampleBatch}es.
 * @throws (on the first iteration) TypeError or RangeError naming the argument when one is missing, of the
 *   wrong type or out of range (the arrays must hold `count` examples of the stated shape).
 */
export function* exampleBatches<I extends Flat, O extends Flat>(
  set: ExampleSet<I, O>,
  batchSize: number,
  options: ExampleBatchOptions = {},
): Generator<ExampleBatch<I, O>> {
  checkObject(set, 'set');
  checkObject(options, 'options');
  checkKeys(options, ['shuffle', 'seed', 'dropRemainder'], 'example batch options');
  const count = checkInt(set.count, 'set.count', 1);
  checkInt(set.steps, 'set.steps', 1);
  checkInt(batchSize, 'batchSize', 1);
  const inWidth = set.inputs.length / count;
  const outWidth = set.targets.length / count;
  if (!Number.isInteger(inWidth) || !Number.isInteger(outWidth)) {
    throw new RangeError(`set.inputs (${set.inputs.length}) and set.targets (${set.targets.length}) must hold set.count = ${count} equal rows`);
  }
  const order = options.shuffle ? shuffledIndices(count, seededRandom(options.seed ?? 0)) : null;
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    if (size < batchSize && options.dropRemainder) break;
    const inputs = new (set.inputs.constructor as new (n: number) => I)(size * inWidth);
    const targets = new (set.targets.constructor as new (n: number) => O)(size * outWidth);
    for (let r = 0; r < size; r++) {
      const e = order ? order[start + r] : start + r;
      inputs.set(set.inputs.subarray(e * inWidth, (e + 1) * inWidth), r * inWidth);
      targets.set(set.targets.subarray(e * outWidth, (e + 1) * outWidth), r * outWidth);
    }
    yield { inputs, targets, batchSize: size, steps: set.steps };
  }
}
