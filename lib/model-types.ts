// The public types of Model's calls: what they take (beyond the config, lib/model-config.ts, and
// the batch, lib/batch.ts) and what they resolve with. The options' defaults and checks live in
// lib/options/.
import type { NativeGenerationState, NativeTrainingState, NativeTrainOptions } from '../typings/model.js';
import type { BuildInfo, CpuIsaName } from '../typings/native.js';

/**
 * Adam, clipping and state options of a training step (documented field by field in
 * typings/model.d.ts; defaults in lib/options/train.ts), and `signal`: an AbortSignal checked before the step is dispatched and again
 * when its turn in the model's queue comes. Aborted there, the step rejects with `signal.reason` (an
 * AbortError DOMException unless abort() was given one) and the model is unchanged. A step already
 * running natively is not interrupted: it completes and is applied (it is atomic).
 */
export type TrainStepOptions = Partial<NativeTrainOptions> & { signal?: AbortSignal };

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
   * 'fp32' (default), or for float32 models on the CPU: 'bf16', every matrix product rounds its
   * weights and its input row to bfloat16 and sums in fp32, halving the bytes each character
   * streams (about 1.5x faster generation of a 2x256 LSTM; logits move by well under 1% of their
   * range); 'int8', each weight column and each input row quantized to int8 with its own scale
   * (largest magnitude / 127), exact integer sums, a quarter of the bytes (about 1.5x faster than
   * bf16 there; logits move by about 1% of their range). docs/numerics.md has the exact rules.
   */
  precision?: 'fp32' | 'bf16' | 'int8';
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

/** A parameter's PyTorch-style name (`rnn.weight_ih_l0`, `dense.weight`, ...), its shape and whether training updates it. */
export interface ParamInfo {
  name: string;
  shape: number[];
  trainable: boolean;
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
  cpu?: { threads: number; instructionSet: CpuIsaName };
  /** backend 'auto' that ended on the CPU: why CUDA is not used (one line). */
  fallbackReason?: string;
}
