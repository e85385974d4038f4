// Learning-rate schedules: functions of the global step (0-based, counted over all epochs).
import { TRAIN_OPTIONS } from './options/train.js';
import { checkInt, checkKeys, checkNumber, checkObject } from './validate.js';

/** A learning rate as a function of the global step (0-based, counted over all epochs); {@link fit} takes one as `learningRate`. */
export type LearningRateSchedule = (step: number) => number;

/**
 * The same rate at every step.
 * @returns a schedule that returns `rate` for every step.
 * @throws TypeError when `rate` is not a number, RangeError when it is outside [0, 1e6].
 */
export function constantLR(rate: number): LearningRateSchedule {
  checkNumber(rate, 'rate', 0, 1e6);
  return () => rate;
}

/** Options of {@link exponentialDecay}. */
export interface ExponentialDecayOptions {
  initial: number;
  /** Multiply the rate by decayRate every decaySteps steps. */
  decayRate: number;
  decaySteps: number;
  /** Decay in whole intervals (step function) instead of continuously. Default false. */
  staircase?: boolean;
}

/**
 * initial * decayRate^(step / decaySteps), as tf.train.exponential_decay (the captioning model's schedule).
 * @returns the schedule.
 * @throws TypeError or RangeError naming the argument when one is missing, of the wrong type or out of range.
 */
export function exponentialDecay(options: ExponentialDecayOptions): LearningRateSchedule {
  checkObject(options, 'options');
  checkKeys(options, ['initial', 'decayRate', 'decaySteps', 'staircase'], 'exponential decay options');
  const initial = checkNumber(options.initial, 'options.initial', 0, 1e6);
  const decayRate = checkNumber(options.decayRate, 'options.decayRate', 0, 1);
  const decaySteps = checkInt(options.decaySteps, 'options.decaySteps', 1);
  const staircase = options.staircase ?? false;
  return (step) => {
    const p = step / decaySteps;
    return initial * decayRate ** (staircase ? Math.floor(p) : p);
  };
}

/** Options of {@link cosineDecay}. */
export interface CosineDecayOptions {
  initial: number;
  /** Steps from initial to minimum; the rate stays at minimum after. */
  decaySteps: number;
  /** Final rate (default 0). */
  minimum?: number;
  /** Rise linearly from 0 over this many steps first (default 0). */
  warmupSteps?: number;
}

/**
 * Half a cosine from initial to minimum over decaySteps (after an optional linear warm-up).
 * @returns the schedule.
 * @throws TypeError or RangeError naming the argument when one is missing, of the wrong type or out of range.
 */
export function cosineDecay(options: CosineDecayOptions): LearningRateSchedule {
  checkObject(options, 'options');
  checkKeys(options, ['initial', 'decaySteps', 'minimum', 'warmupSteps'], 'cosine decay options');
  const initial = checkNumber(options.initial, 'options.initial', 0, 1e6);
  const decaySteps = checkInt(options.decaySteps, 'options.decaySteps', 1);
  const minimum = checkNumber(options.minimum ?? 0, 'options.minimum', 0, initial);
  const warmup = checkInt(options.warmupSteps ?? 0, 'options.warmupSteps', 0);
  return (step) => {
    if (step < warmup) return (initial * (step + 1)) / warmup;
    const t = Math.min(1, (step - warmup) / decaySteps);
    return minimum + (initial - minimum) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
}

/** A number is a constant schedule; a function is called per step and must return a valid rate. */
export function toSchedule(rate: number | LearningRateSchedule, where: string): LearningRateSchedule {
  const checkRate = TRAIN_OPTIONS.learningRate.check;
  if (typeof rate === 'number') {
    checkRate(rate, where);
    return () => rate;
  }
  if (typeof rate !== 'function') throw new TypeError(`${where} must be a number or a function of the step`);
  return (step) => checkRate(rate(step), `${where}(${step})`);
}
