// Autoregressive generation of real-valued series (the textbooks' "creative RNN"): the model's
// prediction for the next step is fed back as its next input, one recurrent step at a time with
// the state carried natively (never re-running a window).
import { AbortError, checkSignal } from './abort.js';
import type { Model } from './model.js';
import { checkFloatArray, checkInt, checkKeys, checkObject } from './validate.js';

/** Options of {@link generateSeries} and {@link streamSeries}. */
export interface SeriesOptions {
  /** Values to generate per sequence. */
  length: number;
  /** Sequences in `prime` (default 1); prime holds batchSize x primeSteps x features values. */
  batchSize?: number;
  /**
   * Checked before each step (and while it waits in the model's queue): streamSeries then ends
   * its iteration; generateSeries rejects with an AbortError whose `partial` holds the steps made
   * so far ([batchSize, steps so far, features]; cause: signal.reason). The carried state is put back.
   */
  signal?: AbortSignal;
}

/**
 * Primes the model with `prime` from a zero state, then yields each generated step: a
 * Float64Array [batchSize * features] that also becomes the next input. The model must take
 * float features and predict as many values as it takes. The model's carried training state is
 * put back afterwards, even when the consumer stops early.
 * @returns an async iterable of the generated steps.
 * @throws (on the first iteration) TypeError or RangeError naming the argument when one is missing, of the
 *   wrong type or out of range (the model must take and give float features of one size).
 */
export async function* streamSeries(model: Model, prime: Float32Array | Float64Array, options: SeriesOptions): AsyncGenerator<Float64Array> {
  const { batchSize, primeSteps, length, signal } = checkSeriesArgs(model, prime, options);
  const features = model.outputSize;
  const saved = model.getState();
  // Aborted: stop quietly (the consumer asked for it); any other error propagates.
  const step = async (batch: Parameters<Model['predict']>[0], state: { useState?: boolean; carryState: boolean }) => {
    try {
      return await model.predict(batch, signal ? { ...state, signal } : state);
    } catch (error) {
      if (signal?.aborted) return undefined;
      throw error;
    }
  };
  try {
    let out = await step({ inputs: prime, batchSize, steps: primeSteps }, { useState: false, carryState: true });
    if (out === undefined) return;
    // A per-step head gives every prime step's prediction: the next input is the last one's.
    let next = model.config.output === 'last' ? out : lastSteps(out, batchSize, primeSteps, features);
    for (let s = 0; s < length; s++) {
      yield Float64Array.from(next);
      if (s + 1 === length) break;
      out = await step({ inputs: Float64Array.from(next), batchSize, steps: 1 }, { carryState: true });
      if (out === undefined) return;
      next = out;
    }
  } finally {
    if (saved.blocks.length > 0) model.setState(saved);
    else model.resetState();
  }
}

/**
 * streamSeries collected: [batchSize, length, features], row-major.
 * @returns a promise of the generated values, `[batchSize * length * features]`.
 * @throws TypeError or RangeError (as a rejection), as {@link streamSeries}; an AbortError when
 *   options.signal aborts it (see SeriesOptions.signal).
 */
export async function generateSeries(model: Model, prime: Float32Array | Float64Array, options: SeriesOptions): Promise<Float64Array> {
  const { batchSize, length } = checkSeriesArgs(model, prime, options);
  const features = model.outputSize;
  const steps: Float64Array[] = [];
  for await (const step of streamSeries(model, prime, options)) steps.push(step);
  const out = new Float64Array(batchSize * steps.length * features);
  steps.forEach((step, s) => {
    for (let b = 0; b < batchSize; b++) out.set(step.subarray(b * features, (b + 1) * features), (b * steps.length + s) * features);
  });
  if (steps.length < length) throw new AbortError(`series generation aborted after ${steps.length} of ${length} steps`, out, options.signal?.reason);
  return out;
}

function lastSteps(out: Float64Array, batchSize: number, steps: number, features: number): Float64Array {
  const last = new Float64Array(batchSize * features);
  for (let b = 0; b < batchSize; b++) last.set(out.subarray((b * steps + steps - 1) * features, (b * steps + steps) * features), b * features);
  return last;
}

function checkSeriesArgs(model: Model, prime: Float32Array | Float64Array, options: SeriesOptions) {
  checkObject(options, 'options');
  checkKeys(options, ['length', 'batchSize', 'signal'], 'series options');
  const signal = checkSignal(options.signal);
  const input = model.config.input;
  if (input.type !== 'features' || input.size !== model.outputSize) {
    throw new TypeError('series generation needs a model whose float inputs and outputs have the same size');
  }
  const length = checkInt(options.length, 'options.length', 0, 1 << 24);
  const batchSize = checkInt(options.batchSize ?? 1, 'options.batchSize', 1, 1 << 24);
  checkFloatArray(prime, 'prime');
  const perStep = batchSize * input.size;
  if (prime.length === 0 || prime.length % perStep !== 0) {
    throw new RangeError(`prime must hold batchSize x steps x ${input.size} values (a multiple of ${perStep}, at least one step), got ${prime.length}`);
  }
  return { batchSize, primeSteps: prime.length / perStep, length, signal };
}
