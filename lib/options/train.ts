// The options of a training step (Model.trainStep, trainStepSync, trainFromStateGrad): the one
// place their names, defaults and checks are written. fit() takes its step options from here too.
import type { NativeTrainOptions } from '../../typings/model.js';
import { checkSignal } from '../abort.js';
import { checkBoolean, checkNumber, checkOneOf } from '../validate.js';
import { readOptions, type OptionSpec } from './table.js';

export type Dtype = 'float32' | 'float64';

// The smallest normal number of each dtype: a smaller epsilon is 0 or subnormal in the model's
// arithmetic, and Adam's update m / (sqrt(v) + eps) then overflows to ±Infinity.
const SMALLEST_NORMAL = { float32: 2 ** -126, float64: 2 ** -1022 } as const;

const flag = (value: unknown, where: string) => checkBoolean(value, where);

/** Adam (PyTorch's defaults), clipping (the textbook's 5) and state: trainStep's options. */
export const TRAIN_OPTIONS = {
  learningRate: { default: 1e-3, check: (v: unknown, w: string) => checkNumber(v, w, 0, 1e6) },
  beta1: { default: 0.9, check: (v: unknown, w: string) => checkNumber(v, w, 0, 1, true) },
  beta2: { default: 0.999, check: (v: unknown, w: string) => checkNumber(v, w, 0, 1, true) },
  epsilon: { default: 1e-8, check: (v: unknown, w: string, dtype: Dtype) => checkNumber(v, w, SMALLEST_NORMAL[dtype], 1) },
  weightDecay: { default: 0, check: (v: unknown, w: string) => checkNumber(v, w, 0, 1e6) },
  decoupledWeightDecay: { default: false, check: flag },
  clipNorm: { default: 5, check: (v: unknown, w: string) => checkNumber(v, w, 0, 1e12) },
  carryState: { default: false, check: flag },
  nonFinite: { default: 'error', check: (v: unknown, w: string) => checkOneOf(v, w, ['error', 'skip'] as const) },
  stateGrad: { default: false, check: flag },
  memoryGrad: { default: false, check: flag },
  signal: { check: (v: unknown, w: string) => checkSignal(v, w) },
} as const satisfies { [K in keyof NativeTrainOptions | 'signal']: OptionSpec<unknown, Dtype> };

/**
 * A step's options checked and completed for the native binding (every field set), and the
 * signal apart from them.
 * @throws TypeError or RangeError naming the option.
 */
export function readTrainOptions(options: unknown, dtype: Dtype): { native: NativeTrainOptions; signal?: AbortSignal } {
  const { signal, ...native } = readOptions(TRAIN_OPTIONS, options, { name: 'train options' }, dtype);
  if (native.stateGrad && !native.carryState) {
    throw new TypeError('options.stateGrad needs options.carryState: true (the state it is the gradient of)');
  }
  return signal === undefined ? { native } : { native, signal };
}
