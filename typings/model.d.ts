// The native Model class (native/binding/model_*.cc). lib/ validates everything and fills in
// every default (lib/options/) before it gets here: the structs' fields are required, and the
// binding refuses one that lacks any (naming it); it re-checks only kinds, ranges and sizes.

/** One recurrent layer as the addon takes it (lib/options/model-config.ts maps {@link RecurrentLayerConfig} to it). */
export interface NativeLayerConfig {
  cell: 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';
  hidden: number;
  bidirectional: boolean;
  peephole: boolean;
  resetBefore: boolean;
  dropoutInput: number;
  dropoutOutput: number;
}

/** A model config as the addon takes it (lib/options/model-config.ts maps {@link ModelConfig} to it; the other input kinds' sizes are 0). */
export interface NativeModelConfig {
  input: 'embedding' | 'oneHot' | 'features';
  vocab: number;
  embeddingDim: number;
  freezeEmbedding: boolean;
  features: number;
  layers: NativeLayerConfig[];
  returnSequences: boolean;
  dense: { units: number; activation: 'linear' | 'tanh' }[];
  loss: 'softmaxCrossEntropy' | 'mse';
  init: 'keras' | 'pytorch';
  forgetBias: number;
  seed: number;
  /** Conditioning features per sequence (0: none). */
  condition: number;
  /** Sampled softmax while training: classes sampled per step (0: full softmax). */
  sampledSoftmax: number;
  /** Attention over a memory of vectors this size per step (0: none). */
  attention: number;
  attentionScore: 'general' | 'dot';
}

/**
 * A batch as the addon takes it (lib/batch.ts maps {@link Batch} to it). The optional arrays are
 * data, not settings: absent means no mask, no per-row weights, no condition, no memory.
 */
export interface NativeBatch {
  batchSize: number;
  steps: number;
  /** Int32Array of token ids [B*T], or float features [B*T*features]. */
  inputs: Int32Array | Float32Array | Float64Array;
  lengths?: Int32Array;
  /** Int32Array class ids (softmax) or float values (mse); rows = B*T or B (last step). */
  targets: Int32Array | Float32Array | Float64Array;
  weights?: Float32Array | Float64Array;
  /** Conditioned models: [B*condition]. */
  condition?: Float32Array | Float64Array;
  /** Attention models: [B*memorySteps*attention], and valid memory steps per row. */
  memory?: Float32Array | Float64Array;
  memorySteps?: number;
  memoryLengths?: Int32Array;
}

/**
 * The options of a training step: Adam, weight decay, clipping, carried state and what to do with a
 * non-finite gradient. The public {@link TrainStepOptions} is this type with every field optional
 * (lib/options/train.ts checks the fields and fills in the defaults before they reach the addon).
 */
export interface NativeTrainOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** L2 penalty (Adam) or decoupled decay (AdamW when decoupledWeightDecay). */
  weightDecay: number;
  decoupledWeightDecay: boolean;
  /** Clip the global gradient norm to this (0: no clipping). Default 5, as the textbook's. */
  clipNorm: number;
  /** Truncated BPTT: start from the state the previous step left and keep this step's final state. */
  carryState: boolean;
  /**
   * A step whose gradient norm is NaN or infinite is always skipped: weights, optimizer moments and
   * carried state stay as they were. 'error' (default): the call fails with an Error naming the
   * step; 'skip': it resolves with `skipped: true`.
   */
  nonFinite: 'error' | 'skip';
  /**
   * With carryState: also return, as `stateGrad`, the gradient of this step's loss with respect
   * to the carried state it started from (getState's blocks): what a decoder hands back to the
   * encoder whose final state it started from (see encode and trainFromStateGrad).
   */
  stateGrad: boolean;
  /** Attention models: also return `memoryGrad`, the loss's gradient with respect to the batch's memory. */
  memoryGrad: boolean;
}

/** What a native step or evaluation resolves with (lib/model.ts turns `correct` into {@link StepResult.accuracy}). */
export interface NativeStepResult {
  loss: number;
  gradNorm: number;
  correct: number;
  weightSum: number;
  /** Train steps only. */
  skipped?: boolean;
  /** With options.stateGrad: d loss / d (starting state), in getState's block order. */
  stateGrad?: Float64Array[];
  /** With options.memoryGrad: d loss / d memory. */
  memoryGrad?: Float64Array;
}

/** How the addon draws each generated token (the public {@link SampleOptions}, checked and completed by lib/options/sample.ts). */
export interface NativeSampleOptions {
  temperature: number;
  topK: number;
  topP: number;
  greedy: boolean;
  seed: number;
  /** Conditioned models: [B*condition], for a generation that starts from the condition. */
  condition?: Float32Array | Float64Array;
  /** 'bf16' / 'int8': products by bf16-rounded / int8-quantized weights and inputs (float32 CPU models only). */
  precision: 'fp32' | 'bf16' | 'int8';
}

/** A parameter's name, shape and whether training updates it. */
export interface NativeParamInfo {
  name: string;
  shape: number[];
  trainable: boolean;
}

/** A native model object: the methods {@link Model} wraps, with the same meaning and no argument defaults. */
export interface NativeModel {
  /** One training step off the main thread; resolves with its loss, gradient norm and counts. */
  trainStep(batch: NativeBatch, options: NativeTrainOptions): Promise<NativeStepResult>;
  /** {@link NativeModel.trainStep} on the calling thread; returns its result. */
  trainStepSync(batch: NativeBatch, options: NativeTrainOptions): NativeStepResult;
  /** The loss without training, from the carried state when `useState`, keeping the final state when `keepState`. */
  evaluate(batch: NativeBatch, useState: boolean, keepState: boolean): Promise<NativeStepResult>;
  /** {@link NativeModel.evaluate} on the calling thread; returns its result. */
  evaluateSync(batch: NativeBatch, useState: boolean, keepState: boolean): NativeStepResult;
  /** Resolves with the model's outputs, `[rows * outputSize]` (logits for softmax models). */
  predict(batch: NativeBatch, useState: boolean, keepState: boolean): Promise<Float64Array>;
  /** The final states (getState's blocks) from a zero or conditioned state; training keeps activations. */
  encode(batch: NativeBatch, training: boolean): Promise<{ blocks: Float64Array[]; outputs: Float64Array }>;
  /** Backward from d loss / d (final states, and outputs when given) of the last encode(batch, true), then clip and Adam. */
  trainFromStateGrad(
    stateGrad: (Float32Array | Float64Array)[],
    options: NativeTrainOptions,
    outputGrad?: Float32Array | Float64Array,
  ): Promise<NativeStepResult>;
  /** Feeds each row's prime from a zero (or conditioned) state, then resolves with `steps` drawn tokens per row, row-major. */
  generate(prime: Int32Array, batchSize: number, steps: number, options: NativeSampleOptions): Promise<Int32Array>;
  /** One chunk of a streamed generation; chunks chained through `state` equal one generate(). */
  generateChunk(
    prime: Int32Array,
    batchSize: number,
    steps: number,
    options: NativeSampleOptions,
    state: NativeGenerationState | null,
  ): Promise<{ tokens: Int32Array; state: NativeGenerationState }>;
  /** @returns every parameter's name, shape and trainability, in arena order. */
  params(): NativeParamInfo[];
  /** @returns a copy of the named parameter (RangeError for an unknown name). */
  getParam(name: string): Float64Array;
  /** Overwrites the named parameter (RangeError for an unknown name or a wrong length). */
  setParam(name: string, values: Float32Array | Float64Array): void;
  /** @returns the gradient the last training step computed for the named parameter (before clipping). */
  getGrad(name: string): Float64Array;
  /** @returns the carried state: [B,H] blocks per layer and direction, h then (LSTM) c. */
  getState(): { batchSize: number; blocks: Float64Array[] };
  /** Sets the carried state (RangeError when a block count or length does not fit; the old state is then kept). */
  setState(batchSize: number, blocks: (Float32Array | Float64Array)[]): void;
  /** Zeroes the carried state. */
  resetState(): void;
  /** @returns backend, dtype, step, RNG counter, sizes, precision, CUDA graph counters and the device. */
  info(): NativeModelInfo;
  /** Bytes a call on a [batchSize, steps] batch would add for its activations (0: already held). */
  activationBytes(batchSize: number, steps: number): number;
  /** Parameter arena and Adam moments in arena order, the Adam step and the dropout counter. */
  exportTrainingState(): NativeTrainingState;
  /** Replaces parameters, moments, step and RNG counter (TypeError or RangeError when a part does not fit; the model is then unchanged). */
  importTrainingState(state: NativeTrainingState): void;
  /** Frees the native memory now; later calls throw. */
  dispose(): void;
}

/** What {@link NativeModel.info} returns (the public {@link ModelInfo} is built from it). */
export interface NativeModelInfo {
  backend: string;
  dtype: string;
  step: number;
  rngCounter: number;
  parameterCount: number;
  nativeBytes: number;
  /** 'fp64' | 'fp32' | 'tf32': the arithmetic in effect. */
  precision: string;
  /** Training steps as CUDA graphs (0 on the CPU): captures, graph launches, failed captures. */
  graphCaptures: number;
  graphReplays: number;
  graphFallbacks: number;
  /** The CUDA backend only: */
  device?: number;
  deviceName?: string;
  computeCapability?: string;
  totalMemory?: number;
  driverVersion?: number;
  runtimeVersion?: number;
}

/** Where a model runs (the 4th constructor argument); the 'cuda' backend reads it. */
export interface NativeBackendOptions {
  device: number;
  precision: 'tf32' | 'fp32';
  /** false: parameters left zero, for a checkpoint to overwrite. */
  initialize: boolean;
}

/** Everything an exact resume needs: the parameter arena, Adam's moments m and v (arena order), the Adam step and the dropout RNG counter. */
export interface NativeTrainingState {
  params: Float64Array;
  m: Float64Array;
  v: Float64Array;
  step: number;
  rngCounter: number;
}

/** An opaque built network, from NativeModelConstructor.build, for new Model(handle) (once). */
export type NativeModelHandle = { readonly __nativeModelHandle: unique symbol };

/** The addon's `Model` class: construct a model on the calling thread, or build one on the thread pool. */
export interface NativeModelConstructor {
  /** Builds a model on the calling thread (parameters initialized when `options.initialize`). */
  new (config: NativeModelConfig, backend: 'cpu' | 'cuda', dtype: 'float32' | 'float64', options: NativeBackendOptions): NativeModel;
  /** Wraps a network {@link NativeModelConstructor.build} made (each handle once). */
  new (handle: NativeModelHandle): NativeModel;
  /** Builds the network (parameter initialization included) on the thread pool. */
  build(
    config: NativeModelConfig,
    backend: 'cpu' | 'cuda',
    dtype: 'float32' | 'float64',
    options: NativeBackendOptions,
  ): Promise<NativeModelHandle>;
  /** The parameters (names, shapes) a config would have, computed without allocating any. */
  planParams(config: NativeModelConfig): NativeParamInfo[];
}

/** Carried between generateChunk calls: h per layer, c per LSTM layer ([B,H] each), draws so far. */
export interface NativeGenerationState {
  h: Float64Array[];
  c: Float64Array[];
  drawn: number;
}
