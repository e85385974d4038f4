// The training loop over a data source: epochs, callbacks, validation, stateful truncated BPTT,
// learning-rate schedules, early stopping, cancellation and progress. Every step is the model's
// async trainStep, so the main thread stays free between and during batches.
import { FitCheckpointer, type FitCheckpointOptions } from './fit-checkpoint.js';
import type { Batch, EvaluateOptions, Model, StepResult, TrainStepOptions } from './model.js';
import { ProgressBar, type ProgressSink } from './progress.js';
import type { LearningRateSchedule } from './schedules.js';
import { EVALUATE_DATA_OPTIONS, FIT_STEP_KEYS, PREDICT_DATA_OPTIONS, readFitOptions, type FitStepKey } from './options/fit.js';
import { readOptions } from './options/table.js';
import { setting } from './options/model-config.js';
import { splitValidation } from './validation-split.js';
import type { BatchLog, EpochLog } from './fit-logs.js';

/** What a factory source gets each epoch: shuffle with `seed` to make the run repeatable. */
export interface EpochContext {
  epoch: number;
  /** Derived from the fit seed and the epoch. */
  seed: number;
}

/** Batches for one epoch: any iterable or async iterable (arrays, generators, streams). */
export type Batches<B> = Iterable<B> | AsyncIterable<B>;

/**
 * Batches for one pass. An array (or any re-iterable) is replayed each epoch; a function is called
 * once per epoch (the way to give generators, shuffles and streams). A one-shot iterator (a
 * generator object) serves one epoch only.
 */
export type BatchSource<B = Batch> = Batches<B> | ((context: EpochContext) => Batches<B>);

/**
 * What fit and evaluateData train and evaluate: a Model, a Seq2Seq, or anything of this shape
 * (params/getParam/setParam serve early stopping's restoreBest).
 */
export interface Trainable<B = Batch> {
  /** One training step on `batch`; resolves with its loss and gradient norm. */
  trainStep(batch: B, options: TrainStepOptions): Promise<StepResult>;
  /** The loss on `batch` without training; resolves with it. */
  evaluate(batch: B, options?: EvaluateOptions): Promise<StepResult>;
  /** Zeroes the carried recurrent state (stateful training resets it each epoch). */
  resetState(): void;
  /** @returns the parameters' names (early stopping's restoreBest copies them). */
  params(): { name: string }[];
  /** @returns a copy of the named parameter's values. */
  getParam(name: string): Float64Array;
  /** Overwrites the named parameter with `values`. */
  setParam(name: string, values: Float64Array): void;
}

export type { BatchLog, EpochLog };

/** When {@link fit} stops because the monitored loss stopped improving, and whether it restores the best epoch's parameters. */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping. */
  patience: number;
  /** An improvement must lower the monitored loss by more than this (default 0). */
  minDelta?: number;
  /** Default 'valLoss' when there is validation data, else 'loss'. */
  monitor?: 'loss' | 'valLoss';
  /** Put back the parameters of the best epoch when stopping or finishing (default true). */
  restoreBest?: boolean;
}

/**
 * Options of {@link fit}: the epochs, the learning rate or schedule, Adam and clipping (as `trainStep`'s),
 * stateful training, validation, early stopping, abort, progress output and callbacks.
 */
export interface FitOptions<B = Batch> extends Pick<TrainStepOptions, FitStepKey> {
  epochs: number;
  /** A rate, or a schedule of the global step (constantLR, exponentialDecay, cosineDecay). Default 1e-3. */
  learningRate?: number | LearningRateSchedule;
  /**
   * Truncated BPTT: carry the recurrent state from each batch to the next and reset it at the start
   * of every epoch (and of validation). The batches must be consecutive windows of the same streams.
   */
  stateful?: boolean;
  validationData?: BatchSource<B>;
  /**
   * Hold out this fraction (0 < f < 1) of `data` for validation: the LAST batches, as Keras holds
   * out the last samples (not shuffled; the first floor(n * (1 - f)) batches train). `data` must be
   * an array of batches, and validationData must not be given (TypeError otherwise).
   */
  validationSplit?: number;
  earlyStopping?: EarlyStoppingOptions;
  signal?: AbortSignal;
  /** true: a bar on a TTY stdout, plain lines otherwise (default); false: silent; or a sink of your own. */
  progress?: boolean | ProgressSink;
  /** Seeds the EpochContext given to factory sources (default 0). */
  seed?: number;
  /** Return false to stop training after this batch. */
  onBatchEnd?: (log: BatchLog) => unknown;
  /** Return false to stop training after this epoch. */
  onEpochEnd?: (log: EpochLog) => unknown;
  /** Save checkpoints and history.jsonl to a directory (Model only; see FitCheckpointOptions). */
  checkpoint?: FitCheckpointOptions;
}

/** What {@link fit} resolves with: the epochs' logs and why it stopped. */
export interface FitResult {
  history: EpochLog[];
  /** Why training ended. */
  stopped: 'completed' | 'earlyStopping' | 'callback';
  /** Epoch with the best monitored loss (when early stopping is on). */
  bestEpoch?: number;
}

/**
 * Trains `model` on `data` for options.epochs passes.
 * @returns a promise of the epochs' logs, why training stopped and (with early stopping) the best epoch.
 * @throws TypeError or RangeError (as a rejection) for a bad option or source before any step; signal.reason when
 *   aborted (checked between steps: the steps completed stay applied); a step that fails rejects with an error of
 *   the same kind naming the epoch, batch and global step (the steps before it stay applied).
 */
export async function fit<B = Batch>(model: Trainable<B>, data: BatchSource<B>, options: FitOptions<B>): Promise<FitResult> {
  const o = readFitOptions(options);
  checkSource(data, 'data');
  let validationData = o.validationData as BatchSource<B> | undefined;
  if (o.validationSplit !== undefined) {
    const split = splitValidation<B>(data, o.validationSplit, validationData !== undefined);
    data = split.train;
    validationData = split.validation;
  }
  if (validationData !== undefined) checkSource(validationData, 'options.validationData');
  const schedule = o.learningRate;
  const stepOptions: TrainStepOptions = { carryState: o.stateful };
  for (const key of FIT_STEP_KEYS) if (o[key] !== undefined) Object.assign(stepOptions, { [key]: o[key] });
  const bar = o.progress === false ? undefined : new ProgressBar(o.progress === true ? process.stdout : o.progress);
  const stopping = o.earlyStopping && {
    ...o.earlyStopping,
    monitor: o.earlyStopping.monitor ?? (validationData !== undefined ? 'valLoss' : 'loss'),
  };
  if (stopping?.monitor === 'valLoss' && validationData === undefined) {
    throw new TypeError("options.earlyStopping.monitor 'valLoss' needs options.validationData");
  }

  const history: EpochLog[] = [];
  let globalStep = 0;
  let stepsPerEpoch = Array.isArray(data) ? data.length : undefined;
  let best = Infinity;
  let bestEpoch: number | undefined;
  let bestParams: Map<string, Float64Array> | undefined;
  let stopped: FitResult['stopped'] = 'completed';
  const saver = o.checkpoint && (await FitCheckpointer.start(model, o.checkpoint));

  for (let epoch = 0; epoch < o.epochs && stopped === 'completed'; epoch++) {
    throwIfAborted(o.signal);
    if (o.stateful) model.resetState();
    const started = performance.now();
    const totals = new Totals();
    let step = 0;
    let learningRate = schedule(globalStep);
    for await (const batch of batchesOf(data, { epoch, seed: epochSeed(o.seed, epoch) }, 'data')) {
      throwIfAborted(o.signal);
      learningRate = schedule(globalStep);
      let r: StepResult;
      try {
        r = await model.trainStep(batch, { ...stepOptions, learningRate });
      } catch (error) {
        // Each step is atomic: the ones before stay applied, this one left the model as it was.
        throw stoppedAt(error, `fit stopped at epoch ${epoch + 1}, batch ${step + 1} (step ${globalStep + 1}; the steps before it are applied)`);
      }
      throwIfAborted(o.signal);
      step++;
      globalStep++;
      totals.add(r);
      await saver?.afterStep(r, epoch, learningRate);
      bar?.update({ epoch, epochs: o.epochs, step, stepsPerEpoch, loss: r.loss, secondsPerBatch: (performance.now() - started) / 1000 / step });
      const log: BatchLog = { epoch, step, globalStep, loss: r.loss, accuracy: r.accuracy, gradNorm: r.gradNorm, learningRate };
      if ((await o.onBatchEnd?.(log)) === false) {
        stopped = 'callback';
        break;
      }
    }
    if (step === 0) {
      throw new RangeError(`data gave no batches in epoch ${epoch + 1}; a generator serves one epoch only, pass a function that returns the batches of each epoch`);
    }
    stepsPerEpoch = step;
    const log: EpochLog = { epoch, ...totals.mean(), batches: step, seconds: 0, learningRate };
    if (validationData !== undefined) {
      const v = await evaluateData(model, validationData, { stateful: o.stateful, signal: o.signal, epoch, seed: o.seed });
      log.valLoss = v.loss;
      log.valAccuracy = v.accuracy;
    }
    log.seconds = (performance.now() - started) / 1000;
    await saver?.afterEpoch(epoch, learningRate, log.valLoss);
    history.push(log);
    bar?.endEpoch(epochSummary(log, o.epochs));
    if ((await o.onEpochEnd?.(log)) === false && stopped === 'completed') stopped = 'callback';
    if (stopping) {
      const monitored = stopping.monitor === 'valLoss' ? log.valLoss! : log.loss;
      if (monitored < best - stopping.minDelta) {
        best = monitored;
        bestEpoch = epoch;
        if (stopping.restoreBest) bestParams = snapshotParams(model);
      } else if (epoch - bestEpoch! >= stopping.patience && stopped === 'completed') {
        stopped = 'earlyStopping';
      }
    }
  }
  if (bestParams && bestEpoch !== history[history.length - 1].epoch) {
    for (const [name, values] of bestParams) model.setParam(name, values);
  }
  return stopping ? { history, stopped, bestEpoch } : { history, stopped };
}

/** Options of {@link evaluateData}. */
export interface EvaluateDataOptions {
  /** Carry the state across batches from a zero state, as a stateful fit trains. */
  stateful?: boolean;
  signal?: AbortSignal;
  /** For factory sources: the epoch and seed given to them (defaults 0). */
  epoch?: number;
  seed?: number;
}

/** What {@link evaluateData} resolves with: loss and accuracy over every weighted row, the weight and batch counts. */
export interface EvaluateDataResult {
  /** Mean loss over every weighted row of every batch. */
  loss: number;
  accuracy: number;
  weightSum: number;
  batches: number;
}

/**
 * Loss and accuracy over a whole source, without training or dropout.
 * @returns a promise of the mean loss and accuracy over every weighted row, the weight sum and the batch count.
 * @throws TypeError or RangeError (as a rejection) for a bad option or source, or a source with no batches; the
 *   abort signal's reason when aborted.
 */
export async function evaluateData<B = Batch>(model: Trainable<B>, data: BatchSource<B>, options: EvaluateDataOptions = {}): Promise<EvaluateDataResult> {
  const { stateful, signal, epoch, seed } = readOptions(EVALUATE_DATA_OPTIONS, options, { name: 'evaluate options' }, undefined);
  checkSource(data, 'data');
  if (stateful) model.resetState();
  const totals = new Totals();
  let batches = 0;
  for await (const batch of batchesOf(data, { epoch, seed: epochSeed(seed, epoch) }, 'data')) {
    throwIfAborted(signal);
    const evaluateOptions: EvaluateOptions = { carryState: stateful, useState: stateful && batches > 0 };
    if (signal !== undefined) evaluateOptions.signal = signal;
    totals.add(await model.evaluate(batch, evaluateOptions));
    batches++;
  }
  if (batches === 0) throw new RangeError('data gave no batches');
  return { ...totals.mean(), weightSum: totals.weight, batches };
}

/** Options of {@link predictData}. */
export interface PredictDataOptions {
  /** 'all': every output row the model gives (default); 'last': each sequence's last valid step only. */
  steps?: 'all' | 'last';
  /** As Model.predict: 'logits' (default) or 'probabilities' (softmax per row; softmax models only). */
  output?: 'logits' | 'probabilities';
  /** Checked before each batch; aborted, the call rejects with signal.reason (nothing changes). */
  signal?: AbortSignal;
}

/** What {@link predictData} resolves with: every output row, `rows × width`, in batch order. */
export interface Predictions {
  /** [rows * width], the rows of all batches in order (a Float64Array for either dtype). */
  values: Float64Array;
  rows: number;
  width: number;
}

/**
 * The model's outputs over a whole source; every batch starts from a zero state.
 * @returns a promise of every output row in batch order (logits for softmax models), with the row count and width.
 * @throws TypeError or RangeError (as a rejection) for a bad option, source or batch; the abort signal's reason
 *   when aborted.
 */
export async function predictData(model: Model, data: BatchSource, options: PredictDataOptions = {}): Promise<Predictions> {
  const { steps: which, output, signal } = readOptions(PREDICT_DATA_OPTIONS, options, { name: 'predict options' }, undefined);
  checkSource(data, 'data');
  const width = model.outputSize;
  const perStep = setting(model.config, 'output') === 'sequence';
  const parts: Float64Array[] = [];
  for await (const batch of batchesOf(data, { epoch: 0, seed: epochSeed(0, 0) }, 'data')) {
    throwIfAborted(signal);
    const out = await model.predict(batch, signal === undefined ? { output } : { output, signal });
    if (which === 'last' && perStep) {
      const T = batch.steps;
      const last = new Float64Array(batch.batchSize * width);
      for (let b = 0; b < batch.batchSize; b++) {
        const row = b * T + (batch.lengths?.[b] ?? T) - 1;
        last.set(out.subarray(row * width, (row + 1) * width), b * width);
      }
      parts.push(last);
    } else {
      parts.push(out);
    }
  }
  const values = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    values.set(p, offset);
    offset += p.length;
  }
  return { values, rows: values.length / width, width };
}

// Row-weighted running means, so batches of different sizes or masks count by their rows.
class Totals {
  weight = 0;
  private loss = 0;
  private correct = 0;

  add(r: StepResult): void {
    this.weight += r.weightSum;
    this.loss += r.loss * r.weightSum;
    this.correct += r.accuracy * r.weightSum;
  }

  mean(): { loss: number; accuracy: number } {
    return this.weight > 0 ? { loss: this.loss / this.weight, accuracy: this.correct / this.weight } : { loss: NaN, accuracy: NaN };
  }
}

async function* batchesOf<B>(source: BatchSource<B>, context: EpochContext, where: string): AsyncGenerator<B> {
  const batches = typeof source === 'function' ? source(context) : source;
  if (batches === null || typeof batches !== 'object' || (!(Symbol.iterator in batches) && !(Symbol.asyncIterator in batches))) {
    throw new TypeError(`${where} must give an iterable or async iterable of batches`);
  }
  yield* batches as AsyncIterable<B>;
}

function checkSource(source: unknown, where: string): void {
  if (typeof source === 'function') return;
  if (source === null || typeof source !== 'object' || (!(Symbol.iterator in source) && !(Symbol.asyncIterator in source))) {
    throw new TypeError(`${where} must be an iterable or async iterable of batches, or a function of the epoch returning one`);
  }
}

// The error a step threw, said where fit stopped, of the same kind (TypeError, RangeError, Error).
function stoppedAt(error: unknown, where: string): Error {
  const message = `${where}: ${error instanceof Error ? error.message : String(error)}`;
  if (error instanceof RangeError) return new RangeError(message, { cause: error });
  if (error instanceof TypeError) return new TypeError(message, { cause: error });
  return new Error(message, { cause: error });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

// Distinct, repeatable seeds per epoch (a multiplicative hash keeps neighbouring seeds apart).
function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0;
}

function snapshotParams<B>(model: Trainable<B>): Map<string, Float64Array> {
  return new Map(model.params().map((p) => [p.name, model.getParam(p.name)]));
}

function epochSummary(log: EpochLog, epochs: number): string {
  let s = `epoch ${log.epoch + 1}/${epochs}: loss ${log.loss.toFixed(4)}`;
  if (log.valLoss !== undefined) s += `, val loss ${log.valLoss.toFixed(4)}`;
  if (!Number.isNaN(log.accuracy) && log.accuracy > 0) s += `, acc ${log.accuracy.toFixed(4)}`;
  if (log.valAccuracy !== undefined && log.valAccuracy > 0) s += `, val acc ${log.valAccuracy.toFixed(4)}`;
  return `${s} (${log.batches} batches, ${log.seconds.toFixed(1)} s)`;
}
