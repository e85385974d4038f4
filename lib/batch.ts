// A batch's checks against the model it is for, and its translation into the binding's NativeBatch
// (targets always set: predict and encode pass zeros of the right kind and size).
import type { NativeBatch } from '../typings/model.js';
import type { InputConfig } from './model-config.js';
import { MAX_SIZE } from './options/sample.js';
import { checkFloatArray, checkIds, checkInt, checkInt32Array, checkKeys, checkObject } from './validate.js';

/** One batch, batch-major: `batchSize` sequences of `steps` steps, as flat typed arrays. */
export interface Batch {
  /** Token ids [batchSize*steps] (Int32Array) or float features [batchSize*steps*size]. */
  inputs: Int32Array | Float32Array | Float64Array;
  /** Class ids (softmax) or values (mse), one row per step (output 'sequence') or per sequence ('last'). */
  targets: Int32Array | Float32Array | Float64Array;
  batchSize: number;
  steps: number;
  /** Valid steps per sequence, in [1, steps]; padding past them is ignored. */
  lengths?: Int32Array;
  /** Per-row loss weights (masks); default 1 (0 past a sequence's length). */
  weights?: Float32Array | Float64Array;
  /** Conditioned models: [batchSize * conditionSize] features that set the initial states. */
  condition?: Float32Array | Float64Array;
  /** Attention models: the memory [batchSize * memorySteps * memorySize] each step attends over. */
  memory?: Float32Array | Float64Array;
  memorySteps?: number;
  /** Valid memory steps per sequence, in [1, memorySteps]; default all. */
  memoryLengths?: Int32Array;
}

/** Every key a Batch may have, in the order "unknown option" messages list them. */
export const BATCH_KEYS = ['inputs', 'targets', 'batchSize', 'steps', 'lengths', 'weights', 'condition', 'memory', 'memorySteps', 'memoryLengths'] as const;

/** What a batch is checked against: the model's input, head and extra inputs. */
export interface BatchShape {
  input: InputConfig;
  /** Output 'sequence': a target row per step; 'last': per sequence. */
  rowsPerSequence: boolean;
  softmax: boolean;
  outputSize: number;
  conditionSize: number;
  /** Attention's memory width; 0 without attention. */
  memorySize: number;
}

/**
 * Checks `batch` for a model of `shape` and translates it for the binding.
 * @throws TypeError or RangeError naming the batch field.
 */
export function checkBatch(batch: Batch, shape: BatchShape, needTargets = true): NativeBatch {
  checkObject(batch, 'batch');
  checkKeys(batch, BATCH_KEYS, 'batch');
  const B = checkInt(batch.batchSize, 'batch.batchSize', 1, MAX_SIZE);
  const T = checkInt(batch.steps, 'batch.steps', 1, MAX_SIZE);
  const input = shape.input;
  if (input.type === 'features') {
    checkFloatArray(batch.inputs, 'batch.inputs', B * T * input.size);
  } else {
    checkInt32Array(batch.inputs, 'batch.inputs', B * T);
    checkIds(batch.inputs as Int32Array, 'batch.inputs', input.vocabSize);
  }
  const rows = shape.rowsPerSequence ? B * T : B;
  if (batch.lengths !== undefined) {
    checkInt32Array(batch.lengths, 'batch.lengths', B);
    batch.lengths.forEach((len, i) => {
      if (len < 1 || len > T) throw new RangeError(`batch.lengths[${i}] = ${len} must be in [1, ${T}]`);
    });
  }
  if (batch.weights !== undefined) {
    checkFloatArray(batch.weights, 'batch.weights', rows);
    batch.weights.forEach((w, i) => {
      if (w < 0) throw new RangeError(`batch.weights[${i}] = ${w} must be >= 0`);
    });
  }
  if (needTargets || batch.targets !== undefined) {
    if (shape.softmax) {
      checkInt32Array(batch.targets, 'batch.targets', rows);
      checkIds(batch.targets as Int32Array, 'batch.targets', shape.outputSize);
    } else {
      checkFloatArray(batch.targets, 'batch.targets', rows * shape.outputSize);
    }
  }
  const targets = batch.targets ?? (shape.softmax ? new Int32Array(rows) : new Float32Array(rows * shape.outputSize));
  const nb: NativeBatch = { batchSize: B, steps: T, inputs: batch.inputs, targets };
  if (batch.lengths !== undefined) nb.lengths = batch.lengths;
  if (batch.weights !== undefined) nb.weights = batch.weights;
  // Optional here: a batch that starts from the carried state needs none (the native side checks).
  if (batch.condition !== undefined) nb.condition = checkCondition(batch.condition, B, shape.conditionSize, 'batch.condition');
  checkMemory(batch, B, shape.memorySize, nb);
  return nb;
}

/**
 * A conditioned model needs [rows * conditionSize] finite values; any other model none.
 * @returns the condition, or undefined for a model without one.
 */
export function checkCondition(condition: unknown, rows: number, size: number, where: string): Float32Array | Float64Array | undefined {
  if (size === 0) {
    if (condition !== undefined) throw new TypeError(`${where} is only for a model with conditionSize > 0`);
    return undefined;
  }
  if (condition === undefined) throw new TypeError(`${where} is required: the model has conditionSize ${size}`);
  const c = checkFloatArray(condition, where, rows * size);
  c.forEach((x, i) => {
    if (!Number.isFinite(x)) throw new RangeError(`${where}[${i}] must be finite`);
  });
  return c;
}

// An attention model needs a memory in every batch; any other model none.
function checkMemory(batch: Batch, B: number, size: number, nb: NativeBatch): void {
  if (size === 0) {
    for (const key of ['memory', 'memorySteps', 'memoryLengths'] as const) {
      if (batch[key] !== undefined) throw new TypeError(`batch.${key} is only for a model with attention`);
    }
    return;
  }
  if (batch.memory === undefined) throw new TypeError('batch.memory is required: the model attends over a memory');
  const S = checkInt(batch.memorySteps, 'batch.memorySteps', 1, MAX_SIZE);
  nb.memory = checkFloatArray(batch.memory, 'batch.memory', B * S * size);
  nb.memorySteps = S;
  if (batch.memoryLengths !== undefined) {
    checkInt32Array(batch.memoryLengths, 'batch.memoryLengths', B);
    batch.memoryLengths.forEach((len, i) => {
      if (len < 1 || len > S) throw new RangeError(`batch.memoryLengths[${i}] = ${len} must be in [1, ${S}]`);
    });
    nb.memoryLengths = batch.memoryLengths;
  }
}
