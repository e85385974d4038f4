// How generate, generateChunk and the text samplers draw tokens: the one place these options'
// names, defaults and checks are written.
import type { NativeSampleOptions } from '../../typings/model.js';
import { checkSignal } from '../abort.js';
import { checkBoolean, checkInt, checkNumber, checkOneOf } from '../validate.js';
import { readOptions, type OptionSpec } from './table.js';

/** Largest count (tokens to draw, topK) a call takes. */
export const MAX_SIZE = 1 << 24;

/** The products' precisions (ModelConfig's SampleOptions.precision; native ops.h's kProductPrecisionNames, same order). */
export const PRODUCT_PRECISIONS = ['fp32', 'bf16', 'int8'] as const;
export type ProductPrecision = (typeof PRODUCT_PRECISIONS)[number];

/** Temperature 1, no top-k / top-p cut, a fresh random seed per call, fp32 products. */
export const SAMPLE_OPTIONS = {
  temperature: { default: 1, check: (v: unknown, w: string) => checkNumber(v, w, Number.MIN_VALUE, 1e6) },
  topK: { default: 0, check: (v: unknown, w: string) => checkInt(v, w, 0, MAX_SIZE) },
  topP: { default: 1, check: (v: unknown, w: string) => checkNumber(v, w, Number.MIN_VALUE, 1) },
  greedy: { default: false, check: (v: unknown, w: string) => checkBoolean(v, w) },
  seed: {
    defaultFrom: () => Math.floor(Math.random() * 2 ** 32),
    check: (v: unknown, w: string) => checkInt(v, w, 0, Number.MAX_SAFE_INTEGER),
  },
  // Checked against the model's conditionSize and the rows by the Model, which knows both.
  condition: { check: (v: unknown) => v as Float32Array | Float64Array },
  precision: { default: 'fp32', check: (v: unknown, w: string) => checkOneOf(v, w, PRODUCT_PRECISIONS) },
  signal: { check: (v: unknown, w: string) => checkSignal(v, w) },
} as const satisfies { [K in keyof NativeSampleOptions | 'signal']: OptionSpec<unknown> };

/**
 * Sampling options checked and completed for the native binding, the condition and the signal
 * left to the caller (they need the model).
 * @throws TypeError or RangeError naming the option.
 */
export function readSampleOptions(options: unknown): {
  native: Omit<NativeSampleOptions, 'condition'>;
  condition?: unknown;
  signal?: AbortSignal;
} {
  const { condition, signal, ...native } = readOptions(SAMPLE_OPTIONS, options, { name: 'sample options' }, undefined);
  return { native, condition, signal };
}
