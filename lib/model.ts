// The public Model: build from a validated config, train step by step, evaluate, predict,
// generate, read and write parameters and recurrent state. All long work runs off the main
// thread; calls on one model run one at a time in call order. Config, batch and option checks
// live in lib/options/ and lib/batch.ts; this file runs the calls.
import type {
  NativeBatch,
  NativeModel,
  NativeParamInfo,
  NativeTrainingState,
  NativeSampleOptions,
  NativeTrainOptions,
} from '../typings/model.js';
import { inspect } from 'node:util';
import { checkSignal } from './abort.js';
import { checkBatch, checkCondition, type Batch, type BatchShape } from './batch.js';
import { checkPrime, drawInChunks } from './generation.js';
import {
  checkConditionPresent,
  checkEncodable,
  checkGeneratable,
  checkMemoryGrad,
  checkParamValues,
  findParam,
  checkStateBlocks,
  checkTrainingState,
} from './model-checks.js';
import { softmaxRows, toModelInfo, toStepResult } from './native-results.js';
import { describeModel, formatSummary } from './summary.js';
import { checkActivationSize, memoryBudget } from './memory-budget.js';
import { plannedParams, prepareCreate } from './model-create.js';
import type { BuildInfo, NativeAddon } from '../typings/native.js';
import type { ModelConfig } from './model-config.js';
import { readEvaluateOptions, readPredictOptions, ENCODE_OPTIONS } from './options/evaluate.js';
import { setting } from './options/model-config.js';
import { MAX_SIZE, readSampleOptions } from './options/sample.js';
import { readOptions } from './options/table.js';
import { readTrainOptions } from './options/train.js';
import { checkFloatArray, checkInt, checkObject } from './validate.js';
import type {
  EvaluateOptions,
  GenerationState,
  ModelInfo,
  ParamInfo,
  PredictOptions,
  SampleOptions,
  StepResult,
  TrainStepOptions,
} from './model-types.js';

export type { Batch } from './batch.js';
export type { CellType, DenseLayerConfig, InputConfig, ModelConfig, RecurrentLayerConfig } from './model-config.js';
export type {
  EvaluateOptions,
  GenerationState,
  ModelInfo,
  ParamInfo,
  PredictOptions,
  SampleOptions,
  StepResult,
  TrainingState,
  TrainStepOptions,
} from './model-types.js';
export { plannedParams };

/**
 * A recurrent network held in native memory (CPU or GPU): build it with {@link Model.create} or {@link Model.createAsync},
 * train it with `trainStep` or {@link fit}, run it with `evaluate`, `predict` and `generate`, free it with `dispose`.
 * Calls on one model run one at a time in call order; a call that fails leaves the model as it was.
 */
export class Model {
  readonly config: Readonly<ModelConfig>;
  private native: NativeModel | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly batchShape: BatchShape;

  private readonly fallbackReason: string | undefined;
  private readonly buildInfo: BuildInfo;
  private readonly cpuKernels: NativeAddon['cpuIsa'];
  private readonly budget: () => number;
  private readonly backend: string;

  private constructor(config: ModelConfig, native: NativeModel, addon: NativeAddon, fallbackReason?: string) {
    this.config = config;
    this.native = native;
    const where = native.info();
    this.backend = where.backend;
    this.budget = () => memoryBudget(addon, where.backend === 'cuda' ? 'cuda' : 'cpu', where.device ?? 0);
    this.buildInfo = addon.buildInfo();
    this.cpuKernels = addon.cpuIsa;
    this.fallbackReason = fallbackReason;
    this.batchShape = {
      input: config.input,
      rowsPerSequence: setting(config, 'output') === 'sequence',
      softmax: setting(config, 'loss') === 'softmaxCrossEntropy',
      outputSize: config.dense[config.dense.length - 1].units,
      conditionSize: setting(config, 'conditionSize'),
      memorySize: config.attention?.memorySize ?? 0,
    };
  }

  /**
   * Builds a model on the calling thread. Parameter initialization (orthogonal recurrent blocks)
   * takes about 0.4 s for a 2×512 LSTM and 3 s for 2×1024 here: createAsync does it off the main
   * thread.
   * @returns the model, its parameters initialized (deterministically from `config.seed`).
   * @throws TypeError or RangeError naming the config field that is invalid or, over the memory budget, the bytes
   *   it needs; Error when `backend: 'cuda'` is asked for and the GPU cannot be used (saying why).
   */
  static create(config: ModelConfig): Model {
    return Model.createOnThisThread(config, true);
  }

  /**
   * @internal For checkpoint loading: the model with every parameter zero, not initialized (a
   * checkpoint overwrites them all at once; the initializers cost seconds for large layers).
   */
  static createForRestore(config: ModelConfig): Model {
    return Model.createOnThisThread(config, false);
  }

  private static createOnThisThread(config: ModelConfig, initialize: boolean): Model {
    const { nativeConfig, choice, addon, options } = prepareCreate(config);
    const native = new addon.Model(nativeConfig, choice.backend, setting(config, 'dtype'), { ...options, initialize });
    return new Model(structuredClone(config), native, addon, choice.fallbackReason);
  }

  /**
   * create() with the network built (and its parameters initialized) on the thread pool.
   * @returns a promise of the model.
   * @throws as {@link Model.create}, as a rejection.
   */
  static async createAsync(config: ModelConfig): Promise<Model> {
    const { nativeConfig, choice, addon, options } = prepareCreate(config);
    const handle = await addon.Model.build(nativeConfig, choice.backend, setting(config, 'dtype'), { ...options, initialize: true });
    return new Model(structuredClone(config), new addon.Model(handle), addon, choice.fallbackReason);
  }

  /** Output width of the model (the last dense layer's units). */
  get outputSize(): number {
    return this.config.dense[this.config.dense.length - 1].units;
  }

  private get dtype(): 'float32' | 'float64' {
    return setting(this.config, 'dtype');
  }

  /** @returns the input vocabulary's size, or `undefined` for a model with float features. */
  get vocabSize(): number | undefined {
    const input = this.config.input;
    return input.type === 'features' ? undefined : input.vocabSize;
  }

  /**
   * One training step (forward, backward, clip, Adam) off the main thread.
   * @returns a promise of the step's loss, gradient norm, accuracy, weight sum and whether it was skipped.
   * @throws TypeError or RangeError (as a rejection) naming the batch field or option that is invalid (the model
   *   unchanged); options.signal's reason when aborted before the step started (see TrainStepOptions.signal);
   *   Error naming the step when its gradient or its Adam update is not finite under `nonFinite: 'error'` (the
   *   step is not applied); Error when disposed.
   */
  trainStep(batch: Batch, options: TrainStepOptions = {}): Promise<StepResult> {
    return settle(() => {
      const nb = checkBatch(batch, this.batchShape);
      const { native, signal } = readTrainOptions(options, this.dtype);
      this.checkTrainCall(nb, native);
      return this.enqueue((m) => m.trainStep(nb, native), { signal, batch: nb }).then(toStepResult);
    });
  }

  /**
   * The same step on the calling thread, for tight loops that accept blocking.
   * @returns the step's result, as {@link Model.trainStep}.
   * @throws as {@link Model.trainStep}, synchronously.
   */
  trainStepSync(batch: Batch, options: TrainStepOptions = {}): StepResult {
    if (options?.signal !== undefined) throw new TypeError('options.signal applies to the async trainStep only');
    const nb = checkBatch(batch, this.batchShape);
    const { native } = readTrainOptions(options, this.dtype);
    this.checkTrainCall(nb, native);
    return toStepResult(this.nativeNow(nb).trainStepSync(nb, native));
  }

  /**
   * Loss (and accuracy) without training or dropout. useState: start from the carried state;
   * carryState: start from it and keep this batch's final state (stateful evaluation of a stream).
   * @returns a promise of the loss, accuracy and weight sum over the batch's weighted rows.
   * @throws TypeError or RangeError (as a rejection) naming the batch field or option that is invalid; options.signal's
   *   reason when aborted before it ran (nothing changed); Error when the model is disposed.
   */
  evaluate(batch: Batch, options: EvaluateOptions = {}): Promise<StepResult> {
    return settle(() => {
      const nb = checkBatch(batch, this.batchShape);
      const { useState, keepState, signal } = readEvaluateOptions(options);
      checkConditionPresent(this.config, nb, useState);
      return this.enqueue((m) => m.evaluate(nb, useState, keepState), { signal, batch: nb }).then(toStepResult);
    });
  }

  /**
   * evaluate() on the calling thread.
   * @returns the result, as {@link Model.evaluate}.
   * @throws as {@link Model.evaluate}, synchronously.
   */
  evaluateSync(batch: Batch, options: EvaluateOptions = {}): StepResult {
    const nb = checkBatch(batch, this.batchShape);
    const { useState, keepState, signal } = readEvaluateOptions(options);
    if (signal !== undefined) throw new TypeError('options.signal applies to the async evaluate only');
    checkConditionPresent(this.config, nb, useState);
    return toStepResult(this.nativeNow(nb).evaluateSync(nb, useState, keepState));
  }

  /**
   * The model outputs, row-major (rows = batchSize * steps for output 'sequence', batchSize for
   * 'last'). Targets are not needed. options.output 'logits' (default) gives the last dense layer's
   * outputs; 'probabilities' their softmax per row. State options as evaluate(): carryState
   * continues from and keeps the carried state.
   * @returns a promise of the outputs, `[rows * outputSize]`, as a Float64Array for either dtype (a float32
   *   model's values widened exactly).
   * @throws TypeError or RangeError (as a rejection) naming the batch field or option that is invalid (a TypeError
   *   for output 'probabilities' on a model without softmax); options.signal's reason when aborted before it ran;
   *   Error when the model is disposed.
   */
  predict(batch: Omit<Batch, 'targets'> & { targets?: Batch['targets'] }, options: PredictOptions = {}): Promise<Float64Array> {
    return settle(() => {
      const nb = checkBatch(batch as Batch, this.batchShape, false);
      const { useState, keepState, signal, probabilities } = readPredictOptions(options);
      if (probabilities && !this.batchShape.softmax) {
        throw new TypeError("options.output 'probabilities' needs a softmax model (loss 'softmaxCrossEntropy')");
      }
      checkConditionPresent(this.config, nb, useState);
      const run = this.enqueue((m) => m.predict(nb, useState, keepState), { signal, batch: nb });
      return probabilities ? run.then((logits) => softmaxRows(logits, this.outputSize)) : run;
    });
  }

  /**
   * The encoder half of an encoder–decoder: runs the recurrent stack over the batch (targets not
   * needed) from a zero state (or the condition's) and resolves with every layer's final state,
   * as getState() gives it: `decoder.setState(encoded)` starts the decoder there. training: with
   * dropout, and the activations are kept for trainFromStateGrad (until any other call on this
   * model). The carried state is not touched.
   * @returns a promise of the final states' blocks, the batch size, the steps and the last layer's outputs.
   * @throws TypeError or RangeError (as a rejection) naming the batch field or option that is invalid; Error when the model is disposed.
   */
  encode(
    batch: Omit<Batch, 'targets'> & { targets?: Batch['targets'] },
    options: { training?: boolean } = {},
  ): Promise<{ batchSize: number; blocks: Float64Array[]; outputs: Float64Array; steps: number }> {
    return settle(() => {
      const nb = checkBatch(batch as Batch, this.batchShape, false);
      const { training } = readOptions(ENCODE_OPTIONS, options, { name: 'encode options' }, undefined);
      checkEncodable(this.config);
      checkConditionPresent(this.config, nb, false);
      return this.enqueue((m) => m.encode(nb, training), { batch: nb }).then(({ blocks, outputs }) => ({
        batchSize: nb.batchSize,
        blocks,
        outputs,
        steps: nb.steps,
      }));
    });
  }

  /**
   * The encoder's training step: backward from `stateGrad` (the decoder's trainStep stateGrad,
   * d loss / d final states of the last `encode(batch, { training: true })`), then clipping and
   * Adam with `options` as trainStep's. Clipping sees this model's gradient only.
   * @returns a promise of the step's gradient norm and whether it was skipped, as {@link Model.trainStep}.
   * @throws TypeError or RangeError (as a rejection) when the gradients do not match the last `encode(batch, { training: true })`.
   */
  trainFromStateGrad(
    stateGrad: (Float32Array | Float64Array)[],
    options: TrainStepOptions = {},
    outputGrad?: Float32Array | Float64Array,
  ): Promise<StepResult> {
    return settle(() => {
      if (!Array.isArray(stateGrad)) throw new TypeError('stateGrad must be an array of Float32Array/Float64Array blocks');
      stateGrad.forEach((b, i) => checkFloatArray(b, `stateGrad[${i}]`));
      if (outputGrad !== undefined) checkFloatArray(outputGrad, 'outputGrad');
      const { native, signal } = readTrainOptions(options, this.dtype);
      if (native.carryState) throw new TypeError('options.carryState does not apply to trainFromStateGrad');
      return this.enqueue((m) => m.trainFromStateGrad(stateGrad, native, outputGrad), { signal }).then(toStepResult);
    });
  }

  /**
   * Feeds each prime sequence from a zero state, then draws `length` tokens per sequence.
   * `prime` is one sequence, or several of equal length.
   * @returns a promise of the drawn token ids, `[rows * length]`, row-major (the prime not included).
   * @throws TypeError or RangeError (as a rejection) for an empty or ragged prime, a token outside the vocabulary, or a
   *   bad option; with options.signal, an AbortError whose `partial` holds the tokens drawn before the abort (see
   *   SampleOptions.signal); Error when disposed.
   */
  generate(prime: Int32Array | Int32Array[], length: number, options: SampleOptions = {}): Promise<Int32Array> {
    return settle(() => this.generateChecked(prime, length, options));
  }

  private generateChecked(prime: Int32Array | Int32Array[], length: number, options: SampleOptions): Promise<Int32Array> {
    const { flat, rows } = checkPrime(prime, this.vocabSize);
    checkInt(length, 'length', 0, MAX_SIZE);
    const { native, condition, signal } = readSampleOptions(options);
    checkGeneratable(this.config, this.backend, native.precision);
    const sample: NativeSampleOptions = native;
    const c = checkCondition(condition, rows, this.batchShape.conditionSize, 'options.condition');
    if (c !== undefined) sample.condition = c;
    if (signal !== undefined) {
      const chunkOptions = { ...sample, signal };
      return drawInChunks((feed, n, state) => this.generateChunk(feed, n, chunkOptions, state), prime, rows, length, signal);
    }
    return this.enqueue((m) => m.generate(flat, rows, length, sample));
  }

  /**
   * One chunk of a streamed generation. Start with `state` null and the prime; continue with the
   * returned state and the last drawn token of each row as the prime. Chained chunks draw exactly
   * what one generate() call with the same seed draws.
   * @returns a promise of the chunk's tokens and the state to continue from.
   * @throws as {@link Model.generate}.
   */
  generateChunk(
    prime: Int32Array | Int32Array[],
    length: number,
    options: SampleOptions,
    state: GenerationState | null,
  ): Promise<{ tokens: Int32Array; state: GenerationState }> {
    return settle(() => {
      const { flat, rows } = checkPrime(prime, this.vocabSize);
      checkInt(length, 'length', 0, MAX_SIZE);
      const { native, condition, signal } = readSampleOptions(options);
      checkGeneratable(this.config, this.backend, native.precision);
      const sample: NativeSampleOptions = native;
      if (state !== null) checkObject(state, 'state');
      // A conditioned model needs its condition for the first chunk only; later ones carry the state.
      if (state === null || condition !== undefined) {
        const c = checkCondition(condition, rows, this.batchShape.conditionSize, 'options.condition');
        if (c !== undefined) sample.condition = c;
      }
      return this.enqueue((m) => m.generateChunk(flat, rows, length, sample, state), { signal });
    });
  }

  /**
   * Parameters and Adam moments (arena order), Adam step and dropout counter: what exact resume needs.
   * @returns copies of the parameters and moments, the Adam step and the dropout counter.
   * @throws Error when the model is disposed.
   */
  exportTrainingState(): NativeTrainingState {
    return this.nativeNow().exportTrainingState();
  }

  /**
   * Replaces parameters, Adam moments, step and dropout counter with a state from `exportTrainingState` (of a model with the same config).
   * @throws TypeError or RangeError when a part is missing, has the wrong length or holds non-finite moments;
   *   the model is then unchanged.
   */
  importTrainingState(state: NativeTrainingState): void {
    checkObject(state, 'state');
    checkTrainingState(this.params(), state);
    this.nativeNow().importTrainingState(state);
  }

  /** @returns every parameter's name, shape and trainability, in the model's storage order. */
  params(): ParamInfo[] {
    return this.nativeNow().params().map((p: NativeParamInfo) => ({ ...p, shape: [...p.shape] }));
  }

  /**
   * @returns a copy of the named parameter's values, row-major in PyTorch's layout.
   * @throws TypeError when `name` is not a string, RangeError when the model has no such parameter.
   */
  getParam(name: string): Float64Array {
    return this.nativeNow().getParam(this.checkParamName(name));
  }

  /**
   * Overwrites the named parameter (row-major, PyTorch's layout); Adam's moments are kept.
   * @throws TypeError for a non-string name or non-float values, RangeError for an unknown name or a wrong length.
   */
  setParam(name: string, values: Float32Array | Float64Array): void {
    this.checkParamName(name);
    checkFloatArray(values, 'values');
    checkParamValues(this.params(), name, values.length);
    this.nativeNow().setParam(name, values);
  }

  /**
   * The gradient the last training step computed for a parameter (before clipping).
   * @returns a copy of the gradient, in the parameter's layout.
   * @throws TypeError when `name` is not a string, RangeError when the model has no such parameter.
   */
  getGrad(name: string): Float64Array {
    return this.nativeNow().getGrad(this.checkParamName(name));
  }

  /**
   * The carried recurrent state: [B,H] blocks per layer and direction, h then (LSTM) c.
   * @returns copies of the blocks and the batch size they are for.
   * @throws Error when the model is disposed.
   */
  getState(): { batchSize: number; blocks: Float64Array[] } {
    return this.nativeNow().getState();
  }

  /**
   * Sets the carried recurrent state (as `getState` returns it) that the next `carryState` call continues from.
   * @throws TypeError or RangeError when the batch size, the number of blocks or a block's length does not fit;
   *   the old state is then kept.
   */
  setState(state: { batchSize: number; blocks: (Float32Array | Float64Array)[] }): void {
    checkObject(state, 'state');
    checkInt(state.batchSize, 'state.batchSize', 1, MAX_SIZE);
    if (!Array.isArray(state.blocks)) throw new TypeError('state.blocks must be an array');
    state.blocks.forEach((b, i) => checkFloatArray(b, `state.blocks[${i}]`));
    checkStateBlocks(this.config, state.batchSize, state.blocks);
    this.nativeNow().setState(state.batchSize, state.blocks);
  }

  /** Zero the carried state (e.g. at the start of an epoch). */
  resetState(): void {
    this.nativeNow().resetState();
  }

  /**
   * @returns where and how the model runs: backend, dtype, precision, Adam step, parameter count, native bytes,
   *   CUDA graph counters,
   * the build, the device or CPU kernels, and the CUDA fallback reason when `'auto'` chose the CPU.
   * @throws Error when the model has been disposed.
   */
  info(): ModelInfo {
    const n = this.nativeNow().info();
    const cpu = n.backend === 'cpu' ? { threads: this.cpuKernels.threads(), instructionSet: this.cpuKernels.active() } : undefined;
    return toModelInfo(n, this.buildInfo, cpu, this.fallbackReason);
  }

  /**
   * A Keras-style table: each layer's output shape and parameter count (the sizes of the tensors
   * params() lists, so the total equals info().parameterCount), then the backend, dtype,
   * precision and native memory. Throws when the model has been disposed.
   */
  summary(): string {
    return formatSummary(this.config, this.params(), this.info());
  }

  /** console.log / util.inspect: the architecture and where it runs, not the native internals. */
  [inspect.custom](): string {
    return describeModel(this.config, this.native === undefined ? undefined : this.info());
  }

  /** Free native memory now. Later calls throw. */
  dispose(): void {
    this.native?.dispose();
    this.native = undefined;
  }

  /** @returns whether `dispose` was called (every other call then throws). */
  get disposed(): boolean {
    return this.native === undefined;
  }

  // The native model, usable now; with a batch, also checked to have room for that batch's
  // activations (measured here, when no other call can be changing them).
  private nativeNow(batch?: NativeBatch): NativeModel {
    if (!this.native) throw new Error('this model has been disposed');
    if (batch !== undefined) checkActivationSize(this.native, batch.batchSize, batch.steps, this.budget);
    return this.native;
  }

  // Serialises async calls: each starts when the previous one settled. An aborted signal stops a
  // call before it is queued and when its turn comes; once dispatched, the native work completes.
  // `batch`, when given, is checked against the memory budget when its turn comes.
  private enqueue<T>(work: (m: NativeModel) => Promise<T>, { signal, batch }: { signal?: AbortSignal; batch?: NativeBatch } = {}): Promise<T> {
    checkSignal(signal)?.throwIfAborted();
    const run = this.queue.then(() => {
      signal?.throwIfAborted();
      return work(this.nativeNow(batch));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  // What a training step needs beyond its batch and options: a memory for memoryGrad, the condition.
  private checkTrainCall(nb: NativeBatch, native: NativeTrainOptions): void {
    checkMemoryGrad(this.config, native.memoryGrad);
    checkConditionPresent(this.config, nb, native.carryState);
  }

  private checkParamName(name: string): string {
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    findParam(this.params(), name);
    return name;
  }
}

// Promise-returning entry points report bad arguments as rejections, never synchronous throws.
function settle<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start();
  } catch (error) {
    return Promise.reject(error);
  }
}
