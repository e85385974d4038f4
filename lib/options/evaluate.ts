// The options of Model.evaluate, predict and encode: the one place their names, defaults and
// checks are written.
import { checkSignal } from '../abort.js';
import { checkBoolean, checkOneOf } from '../validate.js';
import { readOptions } from './table.js';

const flag = (v: unknown, w: string) => checkBoolean(v, w);

/** Zero state unless asked otherwise; useState follows carryState when left out. */
export const EVALUATE_OPTIONS = {
  useState: { check: flag },
  carryState: { default: false, check: flag },
  signal: { check: (v: unknown, w: string) => checkSignal(v, w) },
} as const;

/** evaluate's options, and which outputs to give (logits unless asked otherwise). */
export const PREDICT_OPTIONS = {
  ...EVALUATE_OPTIONS,
  output: { default: 'logits', check: (v: unknown, w: string) => checkOneOf(v, w, ['logits', 'probabilities'] as const) },
} as const;

/** encode's options: inference unless asked to keep the activations for training. */
export const ENCODE_OPTIONS = {
  training: { default: false, check: flag },
} as const;

/** Where evaluate and predict start (useState) and whether they keep their final state. */
export interface StateChoice {
  useState: boolean;
  keepState: boolean;
  signal?: AbortSignal;
}

/** @throws TypeError or RangeError naming the option. */
export function readEvaluateOptions(options: unknown): StateChoice {
  return stateChoice(readOptions(EVALUATE_OPTIONS, options, { name: 'evaluate options' }, undefined));
}

/** @throws TypeError or RangeError naming the option. */
export function readPredictOptions(options: unknown): StateChoice & { probabilities: boolean } {
  const o = readOptions(PREDICT_OPTIONS, options, { name: 'predict options' }, undefined);
  return { ...stateChoice(o), probabilities: o.output === 'probabilities' };
}

function stateChoice(o: { useState?: boolean; carryState: boolean; signal?: AbortSignal }): StateChoice {
  const choice: StateChoice = { useState: o.useState ?? o.carryState, keepState: o.carryState };
  if (o.signal !== undefined) choice.signal = o.signal;
  return choice;
}
