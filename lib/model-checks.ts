// A call's preconditions that the model's config decides: what generate, encode and memoryGrad
// need, when a batch must carry its condition, and what setParam, setState and
// importTrainingState accept. lib/ owns these messages; the executor keeps copies only as internal
// errors (native/net/), for the raw binding.
import type { NativeBatch, NativeTrainingState } from '../typings/model.js';
import type { ModelConfig } from './model-config.js';
import type { ParamInfo } from './model-types.js';
import { cellOf, setting } from './options/model-config.js';
import type { ProductPrecision } from './options/sample.js';

/**
 * A conditioned model's batch needs its condition unless the call starts from the carried state.
 * @throws RangeError when it is missing.
 */
export function checkConditionPresent(config: Readonly<ModelConfig>, batch: NativeBatch, fromState: boolean): void {
  if (setting(config, 'conditionSize') > 0 && !fromState && batch.condition === undefined) {
    throw new RangeError('batch.condition is required: the model is conditioned and the batch does not start from the carried state');
  }
}

/** @throws RangeError when options.memoryGrad is asked of a model without attention. */
export function checkMemoryGrad(config: Readonly<ModelConfig>, memoryGrad: boolean): void {
  if (memoryGrad && config.attention === undefined) throw new RangeError('options.memoryGrad needs a model with attention');
}

/** @throws RangeError for encode on a model that attends over a memory itself. */
export function checkEncodable(config: Readonly<ModelConfig>): void {
  if (config.attention !== undefined) throw new RangeError('encode is for encoders: this model attends over a memory itself');
}

/**
 * What generation needs: token inputs, a softmax output no wider than the vocabulary (each drawn
 * token is fed back in), one direction, no memory; bf16 products only for a float32 model on the CPU.
 * @throws RangeError naming what the model lacks.
 */
export function checkGeneratable(config: Readonly<ModelConfig>, backend: string, precision: ProductPrecision): void {
  const input = config.input;
  const vocab = input.type === 'features' ? undefined : input.vocabSize;
  if (vocab === undefined || setting(config, 'loss') !== 'softmaxCrossEntropy') {
    throw new RangeError('generate needs a model with token inputs and a softmax output');
  }
  if (config.layers.some((l) => l.bidirectional === true)) throw new RangeError('generate cannot run a bidirectional model one step at a time');
  if (config.attention !== undefined) throw new RangeError('generate does not take a memory: decode an attention model with beamSearch');
  const head = config.dense[config.dense.length - 1];
  if (head !== undefined && head.units > vocab) {
    throw new RangeError('generate feeds every drawn token back in: it needs an output layer of at most vocabSize units');
  }
  if (precision !== 'fp32' && !(setting(config, 'dtype') === 'float32' && backend === 'cpu')) {
    throw new RangeError(`options.precision '${precision}' needs a float32 model on the CPU backend`);
  }
}

/**
 * @returns the named parameter's description.
 * @throws RangeError when the model has no such parameter.
 */
export function findParam(params: readonly ParamInfo[], name: string): ParamInfo {
  const p = params.find((q) => q.name === name);
  if (p === undefined) throw new RangeError(`no parameter named '${name}'`);
  return p;
}

/**
 * setParam's name and length against the model's parameters.
 * @throws RangeError for an unknown name or a wrong length.
 */
export function checkParamValues(params: readonly ParamInfo[], name: string, length: number): void {
  const p = findParam(params, name);
  const size = p.shape.reduce((a, b) => a * b, 1);
  if (length !== size) throw new RangeError(`values for '${name}' must have ${size} elements, got ${length}`);
}

/**
 * The carried state's block sizes for `batchSize` rows, in getState()'s order: per layer and
 * direction, h, then c for an LSTM.
 */
export function stateBlockSizes(config: Readonly<ModelConfig>, batchSize: number): number[] {
  const sizes: number[] = [];
  for (const layer of config.layers) {
    for (let d = 0; d < (layer.bidirectional === true ? 2 : 1); d++) {
      sizes.push(batchSize * layer.units);
      if (cellOf(layer) === 'lstm') sizes.push(batchSize * layer.units);
    }
  }
  return sizes;
}

/** @throws RangeError when the blocks do not fit the model's state for `batchSize` rows. */
export function checkStateBlocks(config: Readonly<ModelConfig>, batchSize: number, blocks: readonly { length: number }[]): void {
  const sizes = stateBlockSizes(config, batchSize);
  if (blocks.length !== sizes.length) throw new RangeError(`state must have ${sizes.length} blocks, got ${blocks.length}`);
  blocks.forEach((b, i) => {
    if (b.length !== sizes[i]) throw new RangeError(`state block ${i} must have ${sizes[i]} elements`);
  });
}

/**
 * A training state for this model: arenas of the parameters' total length, finite parameters
 * and first moments, finite non-negative second moments (a NaN moment would poison every later
 * update). The parts' types are the binding's to check.
 * @throws RangeError naming the part at fault.
 */
export function checkTrainingState(params: readonly ParamInfo[], state: NativeTrainingState): void {
  const total = params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  const parts = [
    [state.params, 'parameters must be finite', (x: number) => Number.isFinite(x)],
    [state.m, 'first moments must be finite', (x: number) => Number.isFinite(x)],
    [state.v, 'second moments must be finite and >= 0', (x: number) => Number.isFinite(x) && x >= 0],
  ] as const;
  for (const [values] of parts) {
    if (ArrayBuffer.isView(values) && values.length !== total) throw new RangeError(`training state arenas must have ${total} elements`);
  }
  for (const [values, message, ok] of parts) {
    if (ArrayBuffer.isView(values) && !values.every(ok)) throw new RangeError(`training state ${message}`);
  }
}
