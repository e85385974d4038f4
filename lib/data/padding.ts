// Variable-length sequences: padding to one length with lengths and masks, and bucketing by
// length so a batch wastes few padded steps.
import { checkInt, checkKeys, checkNumber, checkObject } from '../validate.js';
import { seededRandom, shuffledIndices } from './random.js';

/** Options of {@link padSequences}. */
export interface PadOptions {
  /** Pad (or cut) every sequence to this many steps; default the longest. */
  steps?: number;
  /** Values per step (features); default 1 (token ids or scalars). */
  width?: number;
  /** Value written into padded steps (default 0). */
  value?: number;
  /** 'int32' for token ids (default when every input is an Int32Array or integer array), 'float32' otherwise. */
  dtype?: 'int32' | 'float32';
}

/** What {@link padSequences} returns: the padded data, each sequence's length and a per-step mask. */
export interface Padded<A extends Int32Array | Float32Array = Int32Array | Float32Array> {
  /** [batchSize * steps * width], padding after each sequence's end. */
  data: A;
  /** Valid steps per sequence. */
  lengths: Int32Array;
  /** `[batchSize * steps]`: 1 on valid steps, 0 on padding (per-step loss weights). */
  mask: Float32Array;
  batchSize: number;
  steps: number;
}

/**
 * Pads sequences (each `length * width` values) after their end; too long ones are cut.
 * @returns the padded data, the lengths and the per-step mask.
 * @throws TypeError or RangeError naming the argument when one is missing, of the wrong type or out of range.
 */
export function padSequences(sequences: readonly ArrayLike<number>[], options: PadOptions = {}): Padded {
  if (!Array.isArray(sequences) || sequences.length === 0) throw new TypeError('sequences must be a non-empty array of arrays');
  checkObject(options, 'options');
  checkKeys(options, ['steps', 'width', 'value', 'dtype'], 'pad options');
  const width = checkInt(options.width ?? 1, 'options.width', 1);
  const value = checkNumber(options.value ?? 0, 'options.value', -Number.MAX_VALUE, Number.MAX_VALUE);
  const stepsOf = sequences.map((s, i) => {
    if (s === null || typeof s !== 'object' || typeof s.length !== 'number') throw new TypeError(`sequences[${i}] must be an array or typed array`);
    if (s.length === 0 || s.length % width !== 0) throw new RangeError(`sequences[${i}] must hold a positive multiple of width = ${width} values, got ${s.length}`);
    return s.length / width;
  });
  const steps = options.steps === undefined ? Math.max(...stepsOf) : checkInt(options.steps, 'options.steps', 1);
  const isInt = (s: ArrayLike<number>) => s instanceof Int32Array || (Array.isArray(s) && s.every(Number.isInteger));
  const dtype = options.dtype ?? (sequences.every(isInt) ? 'int32' : 'float32');
  const B = sequences.length;
  const data = dtype === 'int32' ? new Int32Array(B * steps * width) : new Float32Array(B * steps * width);
  data.fill(value);
  const lengths = new Int32Array(B);
  const mask = new Float32Array(B * steps);
  sequences.forEach((s, b) => {
    const n = Math.min(stepsOf[b], steps);
    lengths[b] = n;
    for (let i = 0; i < n * width; i++) data[b * steps * width + i] = s[i];
    mask.fill(1, b * steps, b * steps + n);
  });
  return { data, lengths, mask, batchSize: B, steps };
}

/** Options of {@link bucketByLength}. */
export interface BucketOptions {
  /** Shuffle the examples within equal lengths and the order of the batches (default true). */
  shuffle?: boolean;
  seed?: number;
}

/**
 * Groups example indices into batches of similar length: sorted by length (ties in random order),
 * cut into runs of batchSize, the runs returned in random order. Padding per batch is then at most
 * the spread of lengths inside one run.
 * @returns the batches as arrays of example indices.
 * @throws TypeError or RangeError naming the argument when one is missing, of the wrong type or out of range.
 */
export function bucketByLength(lengths: ArrayLike<number>, batchSize: number, options: BucketOptions = {}): Int32Array[] {
  checkInt(batchSize, 'batchSize', 1);
  checkObject(options, 'options');
  checkKeys(options, ['shuffle', 'seed'], 'bucket options');
  const n = lengths.length;
  if (n === 0) throw new RangeError('lengths must not be empty');
  for (let i = 0; i < n; i++) checkInt(lengths[i], `lengths[${i}]`, 0);
  const shuffle = options.shuffle ?? true;
  const random = seededRandom(options.seed ?? 0);
  const order = shuffle ? shuffledIndices(n, random) : Int32Array.from({ length: n }, (_, i) => i);
  // A stable sort keeps the shuffled order among equal lengths.
  const sorted = [...order].sort((a, b) => lengths[a] - lengths[b]);
  const batches: Int32Array[] = [];
  for (let i = 0; i < n; i += batchSize) batches.push(Int32Array.from(sorted.slice(i, i + batchSize)));
  if (!shuffle) return batches;
  const batchOrder = shuffledIndices(batches.length, random);
  return Array.from(batchOrder, (i) => batches[i]);
}
