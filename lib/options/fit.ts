// fit()'s options: its own, and the training step's that it passes to every trainStep (taken from
// the train table, so a step option is listed once and reaches fit without a second list).
import type { NativeTrainOptions } from '../../typings/model.js';
import { checkSignal } from '../abort.js';
import { checkFitCheckpoint } from '../fit-checkpoint.js';
import type { BatchLog, EpochLog } from '../fit-logs.js';
import type { ProgressSink } from '../progress.js';
import { toSchedule } from '../schedules.js';
import { checkBoolean, checkInt, checkNumber, checkOneOf } from '../validate.js';
import { PREDICT_OPTIONS } from './evaluate.js';
import { keysOf, readOptions, type OptionSpec } from './table.js';
import { TRAIN_OPTIONS } from './train.js';

// Step options fit sets itself or that make no sense over a whole run: the learning rate (a rate
// or a schedule, below), carryState (options.stateful), the gradients a single step may return
// (stateGrad, memoryGrad: fit keeps only the loss), nonFinite (a failed step stops fit) and the
// signal (fit's own, checked between steps).
const FIT_OWN_STEP_KEYS = ['learningRate', 'carryState', 'stateGrad', 'memoryGrad', 'nonFinite', 'signal'] as const;

/** The step options fit passes unchanged to every trainStep (each step checks them). */
export type FitStepKey = Exclude<keyof typeof TRAIN_OPTIONS, (typeof FIT_OWN_STEP_KEYS)[number]>;
export const FIT_STEP_KEYS = keysOf(TRAIN_OPTIONS).filter((k) => !(FIT_OWN_STEP_KEYS as readonly string[]).includes(k)) as FitStepKey[];
const passedToSteps = Object.fromEntries(FIT_STEP_KEYS.map((k) => [k, { check: (v: unknown) => v }])) as unknown as {
  [K in FitStepKey]: OptionSpec<NativeTrainOptions[K], FitContext>;
};

/** What fit's checks depend on beyond the value: whether validation batches are given. */
export interface FitContext {
  hasValidation: boolean;
}

const callback =
  <L>() =>
  (v: unknown, w: string) => {
    if (typeof v !== 'function') throw new TypeError(`${w} must be a function`);
    return v as (log: L) => unknown;
  };

/** Early stopping: patience required, any improvement counts, the best epoch restored. */
export const EARLY_STOPPING_OPTIONS = {
  patience: { required: true, check: (v: unknown, w: string) => checkInt(v, w, 0) },
  minDelta: { default: 0, check: (v: unknown, w: string) => checkNumber(v, w, 0, Infinity, true) },
  // Default: 'valLoss' when there is validation data, else 'loss' (fit decides, knowing which).
  monitor: { check: (v: unknown, w: string) => checkOneOf(v, w, ['loss', 'valLoss'] as const) },
  restoreBest: { default: true, check: (v: unknown, w: string) => checkBoolean(v, w) },
} as const;

/**
 * fit's options. validationData and validationSplit are checked by fit against the data (they
 * exclude each other); the step options by every trainStep.
 */
export const FIT_OPTIONS = {
  epochs: { required: true, check: (v: unknown, w: string) => checkInt(v, w, 1) },
  learningRate: { default: TRAIN_OPTIONS.learningRate.default, check: (v: unknown, w: string) => toSchedule(v as number, w) },
  ...passedToSteps,
  stateful: { default: false, check: (v: unknown, w: string) => checkBoolean(v, w) },
  validationData: { check: (v: unknown) => v },
  validationSplit: { check: (v: unknown) => v },
  earlyStopping: {
    check: (v: unknown, w: string) => readOptions(EARLY_STOPPING_OPTIONS, v, { name: w, path: w }, undefined),
  },
  signal: { check: (v: unknown, w: string) => checkSignal(v, w) },
  progress: {
    default: true,
    check: (v: unknown, w: string) => {
      if (typeof v !== 'boolean' && (v === null || typeof v !== 'object' || typeof (v as ProgressSink).write !== 'function')) {
        throw new TypeError(`${w} must be a boolean or an object with a write(text) method`);
      }
      return v as boolean | ProgressSink;
    },
  },
  seed: { default: 0, check: (v: unknown, w: string) => checkInt(v, w, 0) },
  onBatchEnd: { check: callback<BatchLog>() },
  onEpochEnd: { check: callback<EpochLog>() },
  checkpoint: { check: (v: unknown, _w: string, c: FitContext) => checkFitCheckpoint(v, c.hasValidation) },
} as const satisfies { readonly [key: string]: OptionSpec<unknown, FitContext> };

/**
 * fit's options checked, defaults filled in, the learning rate as a schedule.
 * @throws TypeError or RangeError naming the option.
 */
export function readFitOptions(options: unknown) {
  const given = (options ?? {}) as { validationData?: unknown; validationSplit?: unknown };
  const hasValidation = typeof options === 'object' && (given.validationData !== undefined || given.validationSplit !== undefined);
  return readOptions(FIT_OPTIONS, options, { name: 'fit options' }, { hasValidation });
}

/** evaluateData's options: from a zero state, epoch 0 and fit's seed unless asked otherwise. */
export const EVALUATE_DATA_OPTIONS = {
  stateful: FIT_OPTIONS.stateful,
  signal: FIT_OPTIONS.signal,
  epoch: { default: 0, check: (v: unknown, w: string) => checkInt(v, w, 0) },
  seed: FIT_OPTIONS.seed,
} as const;

/** predictData's options: every output row, in Model.predict's output form. */
export const PREDICT_DATA_OPTIONS = {
  steps: { default: 'all', check: (v: unknown, w: string) => checkOneOf(v, w, ['all', 'last'] as const) },
  output: PREDICT_OPTIONS.output,
  signal: FIT_OPTIONS.signal,
} as const;
