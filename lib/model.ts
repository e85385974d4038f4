// The public Model: build from a validated config, train step by step, evaluate, predict,
// generate, read and write parameters and recurrent state. All long work runs off the main
// thread; calls on one model run one at a time in call order.
import type {
  NativeBatch,
  NativeGenerationState,
  NativeModel,
  NativeModelConfig,
  NativeParamInfo,
  NativeStepResult,
  NativeTrainingState,
  NativeTrainOptions,
} from '../typings/model.js';
import { inspect } from 'node:util';
import { AbortError, checkSignal } from './abort.js';
import { loadNative, nativeStatus } from './native.js';
import { describeModel, formatSummary } from './summary.js';
import { checkActivationSize, checkModelSize, memoryBudget } from './memory-budget.js';
import type { BuildInfo, NativeAddon } from '../typings/native.js';
import {
  checkBoolean,
  checkFloatArray,
  checkIds,
  checkInt,
  checkInt32Array,
  checkKeys,
  checkNumber,
  checkObject,
  checkOneOf,
} from './validate.js';

/** The recurrent cell: LSTM, GRU or vanilla (Elman) RNN. */
export type CellType = 'lstm' | 'gru' | 'rnn';

/** One recurrent layer of {@link ModelConfig.layers}: its cell, width, direction and dropout. */
export interface RecurrentLayerConfig {
  /** Default 'lstm'. */
  cell?: CellType;
  units: number;
  /** Vanilla RNN only: 'tanh' (default) or 'relu'. */
  activation?: 'tanh' | 'relu';
  bidirectional?: boolean;
  /** LSTM only: TF1-style peephole connections. */
  peephole?: boolean;
  /** GRU only: apply the reset gate before the recurrent product (TF1 GRUCell / tfjs); default after (PyTorch/cuDNN). */
  resetBefore?: boolean;
  /** Drop probability on this layer's input while training (textbook keep_prob 0.5 = dropout 0.5). */
  dropoutInput?: number;
  /** Drop probability on this layer's output while training. */
  dropoutOutput?: number;
}

/** One dense layer of {@link ModelConfig.dense}: `units` outputs, `'linear'` (default) or `'tanh'`; the last dense layer is the model's output. */
export interface DenseLayerConfig {
  units: number;
  activation?: 'linear' | 'tanh';
}

/** How tokens or features enter the first recurrent layer: a learned embedding (`frozen`: not trained), one-hot vectors, or `size` float features per step. */
export type InputConfig =
  | { type: 'embedding'; vocabSize: number; dim: number; frozen?: boolean }
  | { type: 'oneHot'; vocabSize: number }
  | { type: 'features'; size: number };

/**
 * Everything `Model.create` builds a model from: input, recurrent layers, head, loss, initialization and where it runs.
 * Validated on create: an unknown key or a bad value is a TypeError or RangeError naming the field.
 */
export interface ModelConfig {
  input: InputConfig;
  layers: RecurrentLayerConfig[];
  /** 'sequence': the head sees every step (default); 'last': only each sequence's last valid step. */
  output?: 'sequence' | 'last';
  /** Dense layers after the recurrent stack; the last one is the model output. */
  dense: DenseLayerConfig[];
  /** Default 'softmaxCrossEntropy'. */
  loss?: 'softmaxCrossEntropy' | 'mse';
  /** Weight initialisation: 'keras' (glorot input weights, orthogonal recurrent, default) or 'pytorch'. */
  init?: 'keras' | 'pytorch';
  /** LSTM forget-gate bias (TF1 forget_bias), default 1. */
  forgetBias?: number;
  /** Seeds initialisation and dropout; default 0. */
  seed?: number;
  /**
   * Conditioned models (the image-captioning pattern): features per sequence, passed as
   * `batch.condition` (and to generate() as `options.condition`), from which every recurrent
   * layer starts: h0 = tanh(W·condition + b), c0 = 0, trained end to end. A carried state, when
   * used, wins over the condition. Parameters `condition.weight_l{k}` and `condition.bias_l{k}`.
   */
  conditionSize?: number;
  /**
   * Sampled softmax for large output vocabularies: each training step scores the target and
   * `samples` classes drawn from a log-uniform (Zipf) distribution — so token ids should be ordered
   * by frequency, as WordVocabulary's are — instead of the whole vocabulary; evaluate, predict and
   * generate use the full softmax. A training step's accuracy is then over the candidates.
   */
  sampledSoftmax?: { samples: number };
  /**
   * Luong attention (decoders of encoder–decoders): each batch brings a memory (an encoder's
   * outputs, `memorySize` values per step) and every step's recurrent output h attends over its
   * valid steps — score h·W_a·m ('general', default) or h·m ('dot', memorySize = the last layer's
   * width) — and the head sees tanh(W_c [context; h] + b_c). Needs output 'sequence'.
   */
  attention?: { memorySize: number; score?: 'general' | 'dot' };
  /**
   * Default 'cpu'. 'cuda': the GPU (throws the probe's one-line reason when it cannot be used);
   * 'auto': the GPU when the CUDA build loaded, a driver answers, the device has code in the
   * build and the probe kernel ran, else the CPU (info().fallbackReason says why).
   */
  backend?: 'auto' | 'cpu' | 'cuda';
  /** CUDA device ordinal, default 0. */
  device?: number;
  /**
   * CUDA only: 'tf32' (default, like PyTorch's cuDNN path) runs the large matrix products on
   * TF32 tensor cores with fp32 accumulation; 'fp32' is exact fp32 everywhere.
   */
  precision?: 'tf32' | 'fp32';
  /** 'float32' (default) or 'float64' (the reference path, for checks). */
  dtype?: 'float32' | 'float64';
}

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

/**
 * Adam, clipping and state options of a training step (documented field by field in
 * typings/model.d.ts), and `signal`: an AbortSignal checked before the step is dispatched and again
 * when its turn in the model's queue comes. Aborted there, the step rejects with `signal.reason` (an
 * AbortError DOMException unless abort() was given one) and the model is unchanged. A step already
 * running natively is not interrupted: it completes and is applied (it is atomic).
 */
export type TrainStepOptions = NativeTrainOptions & { signal?: AbortSignal };

/** What `trainStep`, `evaluate` and the other per-batch calls resolve with. */
export interface StepResult {
  /** Mean loss over the weighted rows. */
  loss: number;
  /** Global gradient norm before clipping (train steps only). */
  gradNorm: number;
  /** Fraction of weighted rows whose argmax is the target (softmax models). */
  accuracy: number;
  /** Sum of the rows' weights, for averaging over batches. */
  weightSum: number;
  /** Train steps: the gradient norm was not finite and the step was skipped (nonFinite: 'skip'). */
  skipped: boolean;
  /** With options.stateGrad: d loss / d (starting state), one block per getState block. */
  stateGrad?: Float64Array[];
  /** With options.memoryGrad: d loss / d memory, [batchSize * memorySteps * memorySize]. */
  memoryGrad?: Float64Array;
}

/** How `generate` and the text samplers draw each token from the model's softmax. */
export interface SampleOptions {
  /** Divide the logits by this before softmax (default 1). */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches topP (1 = all). */
  topP?: number;
  /** Always the most likely token. */
  greedy?: boolean;
  /** Makes the draws reproducible. */
  seed?: number;
  /** Conditioned models: [rows * conditionSize] features that set the initial states. */
  condition?: Float32Array | Float64Array;
  /**
   * 'fp32' (default), or 'bf16' (float32 models on the CPU): every matrix product rounds its
   * weights and its input row to bfloat16 and sums in fp32, halving the bytes each character
   * streams (about 1.5x faster generation of a 2x256 LSTM; logits move by well under 1% of their
   * range).
   */
  precision?: 'fp32' | 'bf16';
  /**
   * Cancels the generation. Model.generate draws in chunks of 64 tokens when a signal is given
   * (the same draws as one call) and checks it before each chunk: aborted, it rejects with an
   * AbortError whose `partial` holds the tokens drawn so far (row-major, rows x drawn; cause:
   * signal.reason). generateChunk checks it before dispatch and while queued and rejects with
   * signal.reason. Either way the model's parameters and carried state are untouched.
   */
  signal?: AbortSignal;
}

/** Carried between generateChunk() calls: h per layer, c per LSTM layer ([B,H] each), draws so far. */
export type GenerationState = NativeGenerationState;
/** Parameters, Adam moments, step and dropout counter, as `exportTrainingState` returns them and `importTrainingState` takes them. */
export type TrainingState = NativeTrainingState;
/** Which recurrent state `evaluate` and `predict` start from and whether they keep their final one. */
export interface EvaluateOptions {
  /** Start from the carried state (default false: zero state). */
  useState?: boolean;
  /** Start from the carried state and keep this batch's final state, as trainStep's carryState. */
  carryState?: boolean;
  /**
   * Checked before dispatch and while the call waits its turn in the model's queue: aborted, the
   * call rejects with `signal.reason` and changes nothing (not even the carried state). A call
   * already running natively completes.
   */
  signal?: AbortSignal;
}

/** The options of {@link Model.predict}: evaluate's state options and signal, and which outputs to give. */
export interface PredictOptions extends EvaluateOptions {
  /**
   * 'logits' (default): the last dense layer's outputs as they are. 'probabilities': softmax
   * over each row's outputSize values (softmax models only; computed in float64, max-shifted).
   */
  output?: 'logits' | 'probabilities';
}

// Tokens drawn per native call when generate() has a signal to check between calls.
const ABORTABLE_CHUNK = 64;

/** A parameter's PyTorch-style name (`rnn.weight_ih_l0`, `dense.weight`, ...), its shape and whether training updates it. */
export interface ParamInfo {
  name: string;
  shape: number[];
  trainable: boolean;
}

const MODEL_KEYS = ['input', 'layers', 'output', 'dense', 'loss', 'init', 'forgetBias', 'seed', 'conditionSize', 'sampledSoftmax', 'attention', 'backend', 'device', 'precision', 'dtype'] as const;
const LAYER_KEYS = ['cell', 'units', 'activation', 'bidirectional', 'peephole', 'resetBefore', 'dropoutInput', 'dropoutOutput'] as const;
const DENSE_KEYS = ['units', 'activation'] as const;
const BATCH_KEYS = ['inputs', 'targets', 'batchSize', 'steps', 'lengths', 'weights', 'condition', 'memory', 'memorySteps', 'memoryLengths'] as const;
const TRAIN_KEYS = [
  'learningRate',
  'beta1',
  'beta2',
  'epsilon',
  'weightDecay',
  'decoupledWeightDecay',
  'clipNorm',
  'carryState',
  'nonFinite',
  'stateGrad',
  'memoryGrad',
  'signal',
] as const;
const SAMPLE_KEYS = ['temperature', 'topK', 'topP', 'greedy', 'seed', 'condition', 'precision', 'signal'] as const;
const MAX_SIZE = 1 << 24;

/**
 * A recurrent network held in native memory (CPU or GPU): build it with {@link Model.create} or {@link Model.createAsync},
 * train it with `trainStep` or {@link fit}, run it with `evaluate`, `predict` and `generate`, free it with `dispose`.
 * Calls on one model run one at a time in call order; a call that fails leaves the model as it was.
 */
export class Model {
  readonly config: Readonly<ModelConfig>;
  private native: NativeModel | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly rowsPerSequence: boolean;

  private readonly fallbackReason: string | undefined;
  private readonly buildInfo: BuildInfo;
  private readonly cpuKernels: NativeAddon['cpuIsa'];
  private readonly budget: () => number;

  private constructor(config: ModelConfig, native: NativeModel, addon: NativeAddon, fallbackReason?: string) {
    this.config = config;
    this.native = native;
    const where = native.info();
    this.budget = () => memoryBudget(addon, where.backend === 'cuda' ? 'cuda' : 'cpu', where.device ?? 0);
    this.buildInfo = addon.buildInfo();
    this.cpuKernels = addon.cpuIsa;
    this.fallbackReason = fallbackReason;
    this.rowsPerSequence = (config.output ?? 'sequence') === 'sequence';
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
    const native = new addon.Model(nativeConfig, choice.backend, config.dtype ?? 'float32', { ...options, initialize });
    return new Model(structuredClone(config), native, addon, choice.fallbackReason);
  }

  /**
   * create() with the network built (and its parameters initialized) on the thread pool.
   * @returns a promise of the model.
   * @throws as {@link Model.create}, as a rejection.
   */
  static async createAsync(config: ModelConfig): Promise<Model> {
    const { nativeConfig, choice, addon, options } = prepareCreate(config);
    const handle = await addon.Model.build(nativeConfig, choice.backend, config.dtype ?? 'float32', options);
    return new Model(structuredClone(config), new addon.Model(handle), addon, choice.fallbackReason);
  }

  /** Output width of the model (the last dense layer's units). */
  get outputSize(): number {
    return this.config.dense[this.config.dense.length - 1].units;
  }

  private get dtype(): 'float32' | 'float64' {
    return this.config.dtype ?? 'float32';
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
      const nb = this.checkBatch(batch);
      const opts = checkTrainOptions(options, this.dtype);
      return this.enqueue((m) => m.trainStep(nb, opts), { signal: options.signal, batch: nb }).then(toStepResult);
    });
  }

  /**
   * The same step on the calling thread, for tight loops that accept blocking.
   * @returns the step's result, as {@link Model.trainStep}.
   * @throws as {@link Model.trainStep}, synchronously.
   */
  trainStepSync(batch: Batch, options: TrainStepOptions = {}): StepResult {
    if (options?.signal !== undefined) throw new TypeError('options.signal applies to the async trainStep only');
    const nb = this.checkBatch(batch);
    return toStepResult(this.nativeNow(nb).trainStepSync(nb, checkTrainOptions(options, this.dtype)));
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
      const nb = this.checkBatch(batch);
      const { useState, keepState, signal } = checkEvaluateOptions(options);
      return this.enqueue((m) => m.evaluate(nb, useState, keepState), { signal, batch: nb }).then(toStepResult);
    });
  }

  /**
   * evaluate() on the calling thread.
   * @returns the result, as {@link Model.evaluate}.
   * @throws as {@link Model.evaluate}, synchronously.
   */
  evaluateSync(batch: Batch, options: EvaluateOptions = {}): StepResult {
    const nb = this.checkBatch(batch);
    const { useState, keepState, signal } = checkEvaluateOptions(options);
    if (signal !== undefined) throw new TypeError('options.signal applies to the async evaluate only');
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
      const nb = this.checkBatch(batch as Batch, false);
      const { useState, keepState, signal } = checkEvaluateOptions(options, 'predict options', ['output']);
      const probabilities = checkOneOf(options.output ?? 'logits', 'options.output', ['logits', 'probabilities'] as const) === 'probabilities';
      if (probabilities && (this.config.loss ?? 'softmaxCrossEntropy') !== 'softmaxCrossEntropy') {
        throw new TypeError("options.output 'probabilities' needs a softmax model (loss 'softmaxCrossEntropy')");
      }
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
      const nb = this.checkBatch(batch as Batch, false);
      checkObject(options, 'options');
      checkKeys(options, ['training'], 'encode options');
      const training = checkBoolean(options.training ?? false, 'options.training');
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
      const o = checkTrainOptions(options, this.dtype);
      if (o.carryState) throw new TypeError('options.carryState does not apply to trainFromStateGrad');
      return this.enqueue((m) => m.trainFromStateGrad(stateGrad, o, outputGrad), { signal: options.signal }).then(toStepResult);
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
    const { flat, rows } = this.checkPrime(prime);
    checkInt(length, 'length', 0, MAX_SIZE);
    const sample = checkSampleOptions(options);
    const condition = this.checkCondition(options.condition, rows, 'options.condition');
    if (condition !== undefined) sample.condition = condition;
    const signal = checkSignal(options.signal);
    if (signal !== undefined) return this.generateAbortable(prime, rows, length, { ...sample, signal });
    return this.enqueue((m) => m.generate(flat, rows, length, sample));
  }

  // generate() as chained chunks (the same draws), checking the signal before each one.
  private async generateAbortable(prime: Int32Array | Int32Array[], rows: number, length: number, options: SampleOptions): Promise<Int32Array> {
    const drawn: Int32Array[] = [];
    let done = 0;
    let feed = Array.isArray(prime) ? prime : [prime];
    let state: GenerationState | null = null;
    const tokens = (n: number) => {
      const out = new Int32Array(rows * n);
      for (let r = 0; r < rows; r++) {
        let at = r * n;
        for (const chunk of drawn) {
          const w = chunk.length / rows;
          out.set(chunk.subarray(r * w, (r + 1) * w), at);
          at += w;
        }
      }
      return out;
    };
    while (done < length) {
      const n = Math.min(ABORTABLE_CHUNK, length - done);
      let result: { tokens: Int32Array; state: GenerationState };
      try {
        result = await this.generateChunk(feed, n, options, state);
      } catch (error) {
        if (!options.signal!.aborted) throw error;
        throw new AbortError(`generation aborted after ${done} of ${length} tokens per row`, tokens(done), options.signal!.reason);
      }
      drawn.push(result.tokens);
      state = result.state;
      done += n;
      feed = Array.from({ length: rows }, (_, r) => result.tokens.subarray(r * n + n - 1, (r + 1) * n));
    }
    return tokens(length);
  }

  private checkPrime(prime: Int32Array | Int32Array[]): { flat: Int32Array; rows: number } {
    const rows = Array.isArray(prime) ? prime : [prime];
    if (rows.length === 0) throw new RangeError('prime must hold at least one sequence');
    const vocab = this.vocabSize;
    if (vocab === undefined) throw new TypeError('generate needs a model with token inputs');
    const primeLength = rows[0]?.length ?? 0;
    rows.forEach((r, i) => {
      checkInt32Array(r, `prime[${i}]`);
      if (r.length !== primeLength || r.length === 0) throw new RangeError('prime sequences must be non-empty and of equal length');
      checkIds(r, `prime[${i}]`, vocab);
    });
    const flat = new Int32Array(rows.length * primeLength);
    rows.forEach((r, i) => flat.set(r, i * primeLength));
    return { flat, rows: rows.length };
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
      const { flat, rows } = this.checkPrime(prime);
      checkInt(length, 'length', 0, MAX_SIZE);
      const sample = checkSampleOptions(options);
      if (state !== null) checkObject(state, 'state');
      // A conditioned model needs its condition for the first chunk only; later ones carry the state.
      if (state === null || options.condition !== undefined) {
        const condition = this.checkCondition(options.condition, rows, 'options.condition');
        if (condition !== undefined) sample.condition = condition;
      }
      return this.enqueue((m) => m.generateChunk(flat, rows, length, sample, state), { signal: checkSignal(options.signal) });
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
    const out: ModelInfo = {
      backend: n.backend,
      dtype: n.dtype,
      precision: n.precision,
      step: n.step,
      parameterCount: n.parameterCount,
      nativeBytes: n.nativeBytes,
      graphCaptures: n.graphCaptures,
      graphReplays: n.graphReplays,
      graphFallbacks: n.graphFallbacks,
      build: { ...this.buildInfo },
    };
    if (n.device !== undefined) {
      out.device = {
        ordinal: n.device,
        name: n.deviceName ?? '',
        computeCapability: n.computeCapability ?? '',
        totalMemory: n.totalMemory ?? 0,
        driverVersion: n.driverVersion ?? 0,
        runtimeVersion: n.runtimeVersion ?? 0,
      };
    }
    if (n.backend === 'cpu') out.cpu = { threads: this.cpuKernels.threads(), instructionSet: this.cpuKernels.active() };
    if (this.fallbackReason !== undefined) out.fallbackReason = this.fallbackReason;
    return out;
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
    if (batch !== undefined) checkActivationSize(this.native, batch.batchSize, batch.steps, this.budget());
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

  private checkParamName(name: string): string {
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    return name;
  }

  private checkBatch(batch: Batch, needTargets = true): NativeBatch {
    checkObject(batch, 'batch');
    checkKeys(batch, BATCH_KEYS, 'batch');
    const B = checkInt(batch.batchSize, 'batch.batchSize', 1, MAX_SIZE);
    const T = checkInt(batch.steps, 'batch.steps', 1, MAX_SIZE);
    const input = this.config.input;
    if (input.type === 'features') {
      checkFloatArray(batch.inputs, 'batch.inputs', B * T * input.size);
    } else {
      checkInt32Array(batch.inputs, 'batch.inputs', B * T);
      checkIds(batch.inputs as Int32Array, 'batch.inputs', input.vocabSize);
    }
    const rows = this.rowsPerSequence ? B * T : B;
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
      if ((this.config.loss ?? 'softmaxCrossEntropy') === 'softmaxCrossEntropy') {
        checkInt32Array(batch.targets, 'batch.targets', rows);
        checkIds(batch.targets as Int32Array, 'batch.targets', this.outputSize);
      } else {
        checkFloatArray(batch.targets, 'batch.targets', rows * this.outputSize);
      }
    }
    const nb: NativeBatch = { batchSize: B, steps: T, inputs: batch.inputs };
    if (batch.targets !== undefined) nb.targets = batch.targets;
    else nb.targets = this.placeholderTargets(rows);
    if (batch.lengths !== undefined) nb.lengths = batch.lengths;
    if (batch.weights !== undefined) nb.weights = batch.weights;
    // Optional here: a batch that starts from the carried state needs none (the native side checks).
    if (batch.condition !== undefined) nb.condition = this.checkCondition(batch.condition, B, 'batch.condition');
    this.checkMemory(batch, B, nb);
    return nb;
  }

  // An attention model needs a memory in every batch; any other model none.
  private checkMemory(batch: Batch, B: number, nb: NativeBatch): void {
    const size = this.config.attention?.memorySize ?? 0;
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

  // A conditioned model needs [rows * conditionSize] finite values; any other model none.
  private checkCondition(condition: unknown, rows: number, where: string): Float32Array | Float64Array | undefined {
    const size = this.config.conditionSize ?? 0;
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

  // predict() runs the same batch path, which wants targets of the right size.
  private placeholderTargets(rows: number): Int32Array | Float32Array {
    return (this.config.loss ?? 'softmaxCrossEntropy') === 'softmaxCrossEntropy'
      ? new Int32Array(rows)
      : new Float32Array(rows * this.outputSize);
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

function toStepResult(r: NativeStepResult): StepResult {
  const out: StepResult = {
    loss: r.loss,
    gradNorm: r.gradNorm,
    accuracy: r.weightSum > 0 ? r.correct / r.weightSum : 0,
    weightSum: r.weightSum,
    skipped: r.skipped ?? false,
  };
  if (r.stateGrad !== undefined) out.stateGrad = r.stateGrad;
  if (r.memoryGrad !== undefined) out.memoryGrad = r.memoryGrad;
  return out;
}

function checkEvaluateOptions(
  options: EvaluateOptions,
  where = 'evaluate options',
  moreKeys: readonly string[] = [],
): { useState: boolean; keepState: boolean; signal?: AbortSignal } {
  checkObject(options, 'options');
  checkKeys(options, ['useState', 'carryState', 'signal', ...moreKeys], where);
  const carry = checkBoolean(options.carryState ?? false, 'options.carryState');
  const useState = checkBoolean(options.useState ?? carry, 'options.useState');
  return { useState, keepState: carry, signal: checkSignal(options.signal) };
}

// Softmax of each row of `width` logits, shifted by the row's max so no exp overflows.
function softmaxRows(logits: Float64Array, width: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let start = 0; start < logits.length; start += width) {
    let max = -Infinity;
    for (let i = start; i < start + width; i++) max = Math.max(max, logits[i]);
    let sum = 0;
    for (let i = start; i < start + width; i++) sum += out[i] = Math.exp(logits[i] - max);
    for (let i = start; i < start + width; i++) out[i] /= sum;
  }
  return out;
}

// The smallest normal number of each dtype: a smaller epsilon is 0 or subnormal in the model's
// arithmetic, and Adam's update m / (sqrt(v) + eps) then overflows to ±Infinity.
const SMALLEST_NORMAL = { float32: 2 ** -126, float64: 2 ** -1022 } as const;

function checkTrainOptions(options: TrainStepOptions, dtype: 'float32' | 'float64'): TrainStepOptions {
  checkObject(options, 'options');
  checkKeys(options, TRAIN_KEYS, 'train options');
  const o: TrainStepOptions = {
    learningRate: checkNumber(options.learningRate ?? 1e-3, 'options.learningRate', 0, 1e6),
    beta1: checkNumber(options.beta1 ?? 0.9, 'options.beta1', 0, 1, true),
    beta2: checkNumber(options.beta2 ?? 0.999, 'options.beta2', 0, 1, true),
    epsilon: checkNumber(options.epsilon ?? 1e-8, 'options.epsilon', SMALLEST_NORMAL[dtype], 1),
    weightDecay: checkNumber(options.weightDecay ?? 0, 'options.weightDecay', 0, 1e6),
    decoupledWeightDecay: checkBoolean(options.decoupledWeightDecay ?? false, 'options.decoupledWeightDecay'),
    clipNorm: checkNumber(options.clipNorm ?? 5, 'options.clipNorm', 0, 1e12),
    carryState: checkBoolean(options.carryState ?? false, 'options.carryState'),
    nonFinite: checkOneOf(options.nonFinite ?? 'error', 'options.nonFinite', ['error', 'skip'] as const),
    stateGrad: checkBoolean(options.stateGrad ?? false, 'options.stateGrad'),
    memoryGrad: checkBoolean(options.memoryGrad ?? false, 'options.memoryGrad'),
  };
  if (o.stateGrad && !o.carryState) throw new TypeError('options.stateGrad needs options.carryState: true (the state it is the gradient of)');
  return o;
}

function checkSampleOptions(options: SampleOptions): SampleOptions {
  checkObject(options, 'options');
  checkKeys(options, SAMPLE_KEYS, 'sample options');
  const o: SampleOptions = {
    temperature: checkNumber(options.temperature ?? 1, 'options.temperature', Number.MIN_VALUE, 1e6),
    topK: checkInt(options.topK ?? 0, 'options.topK', 0, MAX_SIZE),
    topP: checkNumber(options.topP ?? 1, 'options.topP', Number.MIN_VALUE, 1),
    greedy: checkBoolean(options.greedy ?? false, 'options.greedy'),
    precision: checkOneOf(options.precision ?? 'fp32', 'options.precision', ['fp32', 'bf16'] as const),
    seed: checkInt(options.seed ?? Math.floor(Math.random() * 2 ** 32), 'options.seed', 0, Number.MAX_SAFE_INTEGER),
  };
  return o;
}

/** The parameters (names, shapes, trainable) a config would have, without building the model. */
export function plannedParams(config: ModelConfig): ParamInfo[] {
  return loadNative({ backend: 'cpu' }).Model.planParams(toNativeConfig(config)).map((p: NativeParamInfo) => ({ ...p, shape: [...p.shape] }));
}

// Validation, backend choice and the addon to build with: create() and createAsync() alike.
function prepareCreate(config: ModelConfig) {
  const nativeConfig = toNativeConfig(config);
  const choice = chooseBackend(config);
  const addon = loadNative({ backend: choice.backend });
  const bytesPerValue = (config.dtype ?? 'float32') === 'float64' ? 8 : 4;
  checkModelSize(addon.Model.planParams(nativeConfig), bytesPerValue, memoryBudget(addon, choice.backend, config.device ?? 0));
  const options = { device: config.device ?? 0, precision: config.precision ?? 'tf32' } as const;
  return { nativeConfig, choice, addon, options };
}

function toNativeConfig(config: ModelConfig): NativeModelConfig {
  checkObject(config, 'config');
  checkKeys(config, MODEL_KEYS, 'model config');
  const input = checkObject(config.input, 'config.input') as InputConfig;
  const out: NativeModelConfig = { input: 'embedding', layers: [], dense: [] };
  switch (checkOneOf(input.type, 'config.input.type', ['embedding', 'oneHot', 'features'] as const)) {
    case 'embedding': {
      const e = input as Extract<InputConfig, { type: 'embedding' }>;
      checkKeys(e, ['type', 'vocabSize', 'dim', 'frozen'], 'config.input');
      out.input = 'embedding';
      out.vocab = checkInt(e.vocabSize, 'config.input.vocabSize', 1, MAX_SIZE);
      out.embeddingDim = checkInt(e.dim, 'config.input.dim', 1, MAX_SIZE);
      out.freezeEmbedding = checkBoolean(e.frozen ?? false, 'config.input.frozen');
      break;
    }
    case 'oneHot': {
      const e = input as Extract<InputConfig, { type: 'oneHot' }>;
      checkKeys(e, ['type', 'vocabSize'], 'config.input');
      out.input = 'oneHot';
      out.vocab = checkInt(e.vocabSize, 'config.input.vocabSize', 1, MAX_SIZE);
      break;
    }
    case 'features': {
      const e = input as Extract<InputConfig, { type: 'features' }>;
      checkKeys(e, ['type', 'size'], 'config.input');
      out.input = 'features';
      out.features = checkInt(e.size, 'config.input.size', 1, MAX_SIZE);
      break;
    }
  }
  if (!Array.isArray(config.layers) || config.layers.length === 0) {
    throw new TypeError('config.layers must be a non-empty array of recurrent layers');
  }
  out.layers = config.layers.map((layer, i) => {
    const where = `config.layers[${i}]`;
    checkObject(layer, where);
    checkKeys(layer, LAYER_KEYS, where);
    const cell = checkOneOf(layer.cell ?? 'lstm', `${where}.cell`, ['lstm', 'gru', 'rnn'] as const);
    if (layer.activation !== undefined && cell !== 'rnn') throw new TypeError(`${where}.activation applies to 'rnn' cells only`);
    if (layer.peephole !== undefined && cell !== 'lstm') throw new TypeError(`${where}.peephole applies to 'lstm' cells only`);
    if (layer.resetBefore !== undefined && cell !== 'gru') throw new TypeError(`${where}.resetBefore applies to 'gru' cells only`);
    const activation = checkOneOf(layer.activation ?? 'tanh', `${where}.activation`, ['tanh', 'relu'] as const);
    return {
      cell: cell === 'rnn' ? (activation === 'relu' ? 'rnn_relu' : 'rnn_tanh') : cell,
      hidden: checkInt(layer.units, `${where}.units`, 1, MAX_SIZE),
      bidirectional: checkBoolean(layer.bidirectional ?? false, `${where}.bidirectional`),
      peephole: checkBoolean(layer.peephole ?? false, `${where}.peephole`),
      resetBefore: checkBoolean(layer.resetBefore ?? false, `${where}.resetBefore`),
      dropoutInput: checkNumber(layer.dropoutInput ?? 0, `${where}.dropoutInput`, 0, 1, true),
      dropoutOutput: checkNumber(layer.dropoutOutput ?? 0, `${where}.dropoutOutput`, 0, 1, true),
    };
  });
  out.returnSequences = checkOneOf(config.output ?? 'sequence', 'config.output', ['sequence', 'last'] as const) === 'sequence';
  if (!Array.isArray(config.dense) || config.dense.length === 0) {
    throw new TypeError('config.dense must be a non-empty array (its last layer is the output)');
  }
  out.dense = config.dense.map((d, i) => {
    const where = `config.dense[${i}]`;
    checkObject(d, where);
    checkKeys(d, DENSE_KEYS, where);
    return {
      units: checkInt(d.units, `${where}.units`, 1, MAX_SIZE),
      activation: checkOneOf(d.activation ?? 'linear', `${where}.activation`, ['linear', 'tanh'] as const),
    };
  });
  out.loss = checkOneOf(config.loss ?? 'softmaxCrossEntropy', 'config.loss', ['softmaxCrossEntropy', 'mse'] as const);
  if (out.loss === 'softmaxCrossEntropy' && out.dense[out.dense.length - 1].units < 2) {
    throw new RangeError('a softmax output needs at least 2 units in its last dense layer');
  }
  out.init = checkOneOf(config.init ?? 'keras', 'config.init', ['keras', 'pytorch'] as const);
  out.forgetBias = checkNumber(config.forgetBias ?? 1, 'config.forgetBias', -1e6, 1e6);
  out.seed = checkInt(config.seed ?? 0, 'config.seed', 0, Number.MAX_SAFE_INTEGER);
  out.condition = checkInt(config.conditionSize ?? 0, 'config.conditionSize', 0, MAX_SIZE);
  if (config.attention !== undefined) {
    checkObject(config.attention, 'config.attention');
    checkKeys(config.attention, ['memorySize', 'score'], 'config.attention');
    out.attention = checkInt(config.attention.memorySize, 'config.attention.memorySize', 1, MAX_SIZE);
    out.attentionScore = checkOneOf(config.attention.score ?? 'general', 'config.attention.score', ['general', 'dot'] as const);
    if (!out.returnSequences) throw new TypeError("config.attention needs output 'sequence'");
  }
  if (config.sampledSoftmax !== undefined) {
    checkObject(config.sampledSoftmax, 'config.sampledSoftmax');
    checkKeys(config.sampledSoftmax, ['samples'], 'config.sampledSoftmax');
    out.sampledSoftmax = checkInt(config.sampledSoftmax.samples, 'config.sampledSoftmax.samples', 1, 1 << 20);
    if (out.loss !== 'softmaxCrossEntropy') throw new TypeError("config.sampledSoftmax needs loss 'softmaxCrossEntropy'");
    if (out.dense[out.dense.length - 1].activation !== 'linear') throw new TypeError('config.sampledSoftmax needs a linear output layer');
  }
  checkOneOf(config.backend ?? 'cpu', 'config.backend', ['auto', 'cpu', 'cuda'] as const);
  if (config.device !== undefined) checkInt(config.device, 'config.device', 0, 1024);
  if (config.precision !== undefined) checkOneOf(config.precision, 'config.precision', ['tf32', 'fp32'] as const);
  checkOneOf(config.dtype ?? 'float32', 'config.dtype', ['float32', 'float64'] as const);
  return out;
}

/** What {@link Model.info} returns. */
export interface ModelInfo {
  /** Where the model runs: 'cpu' or 'cuda'. */
  backend: string;
  dtype: string;
  /** 'fp64' | 'fp32' | 'tf32': the arithmetic in effect. */
  precision: string;
  step: number;
  parameterCount: number;
  /** Backend memory the model holds now (device memory on a GPU): arenas, activations, state. */
  nativeBytes: number;
  /**
   * Training steps as CUDA graphs (all 0 on the CPU; FUSEDRNN_CUDA_GRAPHS=0 turns capture off):
   * graphs recorded (one per batch shape and structural options such as carryState; the first
   * step of each runs uncaptured, the second captures), graph launches, and captures that failed
   * (that shape then runs uncaptured).
   */
  graphCaptures: number;
  graphReplays: number;
  graphFallbacks: number;
  /** The CUDA device, when backend is 'cuda'. */
  device?: {
    ordinal: number;
    name: string;
    computeCapability: string;
    /** Bytes. */
    totalMemory: number;
    /** CUDA versions as 1000*major + 10*minor (13000 = 13.0). */
    driverVersion: number;
    runtimeVersion: number;
  };
  /** What the loaded addon was compiled with. */
  build: BuildInfo;
  /**
   * CPU models: the threads the kernels use (the caller included; env FUSEDRNN_CPU_THREADS caps
   * them) and the instruction-set variant picked at load (env FUSEDRNN_CPU_ISA forces one).
   */
  cpu?: { threads: number; instructionSet: 'generic' | 'avx2' | 'avx512' | 'avx512bf16' };
  /** backend 'auto' that ended on the CPU: why CUDA is not used (one line). */
  fallbackReason?: string;
}

/** The native backend for a config: 'auto' resolves to 'cuda' only when the CUDA addon's probe ran. */
function chooseBackend(config: ModelConfig): { backend: 'cpu' | 'cuda'; fallbackReason?: string } {
  const requested = config.backend ?? 'cpu';
  if (requested === 'cpu') return { backend: 'cpu' };
  if ((config.dtype ?? 'float32') === 'float64') {
    if (requested === 'cuda') throw new RangeError("config.dtype 'float64' runs on the CPU only; use backend 'cpu' or 'auto'");
    return { backend: 'cpu', fallbackReason: "dtype 'float64' runs on the CPU only" };
  }
  if (requested === 'cuda') {
    loadNative({ backend: 'cuda' }); // throws the probe's reason
    return { backend: 'cuda' };
  }
  const status = nativeStatus({ backend: 'auto' });
  if (status.variant === 'cuda') return { backend: 'cuda' };
  return { backend: 'cpu', fallbackReason: status.fallbackReason ?? 'the CUDA addon is not usable' };
}
