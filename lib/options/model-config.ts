// A ModelConfig's defaults and checks, and its translation into the binding's NativeModelConfig,
// in which every field is set (the binding has no defaults of its own).
import type { NativeLayerConfig, NativeModelConfig } from '../../typings/model.js';
import type { DenseLayerConfig, InputConfig, ModelConfig, RecurrentLayerConfig } from '../model-config.js';
import { checkBoolean, checkInt, checkKeys, checkNumber, checkObject, checkOneOf } from '../validate.js';
import { MAX_SIZE } from './sample.js';
import { keysOf, readOptions } from './table.js';

const oneOf =
  <T extends string>(...choices: T[]) =>
  (v: unknown, w: string) =>
    checkOneOf(v, w, choices);
const size = (v: unknown, w: string) => checkInt(v, w, 1, MAX_SIZE);
const flag = (v: unknown, w: string) => checkBoolean(v, w);
const probability = (v: unknown, w: string) => checkNumber(v, w, 0, 1, true);

/** One recurrent layer: an LSTM of `units`, unidirectional, no peepholes, dropout 0. */
export const LAYER_OPTIONS = {
  cell: { default: 'lstm', check: oneOf('lstm', 'gru', 'rnn') },
  units: { required: true, check: size },
  activation: { default: 'tanh', check: oneOf('tanh', 'relu') },
  bidirectional: { default: false, check: flag },
  peephole: { default: false, check: flag },
  resetBefore: { default: false, check: flag },
  dropoutInput: { default: 0, check: probability },
  dropoutOutput: { default: 0, check: probability },
} as const satisfies { [K in keyof Required<RecurrentLayerConfig>]: unknown };

/** One dense layer: linear unless asked otherwise. */
export const DENSE_OPTIONS = {
  units: { required: true, check: size },
  activation: { default: 'linear', check: oneOf('linear', 'tanh') },
} as const satisfies { [K in keyof Required<DenseLayerConfig>]: unknown };

/** Attention's options: the memory's width and the score ('general' unless asked otherwise). */
export const ATTENTION_OPTIONS = {
  memorySize: { required: true, check: size },
  score: { default: 'general', check: oneOf('general', 'dot') },
} as const satisfies { [K in keyof Required<NonNullable<ModelConfig['attention']>>]: unknown };

const SAMPLED_SOFTMAX_OPTIONS = {
  samples: { required: true, check: (v: unknown, w: string) => checkInt(v, w, 1, 1 << 20) },
} as const;

/**
 * The model config's top level. The structured fields (input, layers, dense, attention,
 * sampledSoftmax) are read by their own functions below; the table gives their place in the
 * key list and the check order.
 */
export const MODEL_OPTIONS = {
  input: { required: true, check: (v: unknown, w: string) => checkObject(v, w) as unknown as InputConfig },
  layers: { required: true, check: (v: unknown) => v as RecurrentLayerConfig[] },
  output: { default: 'sequence', check: oneOf('sequence', 'last') },
  dense: { required: true, check: (v: unknown) => v as DenseLayerConfig[] },
  loss: { default: 'softmaxCrossEntropy', check: oneOf('softmaxCrossEntropy', 'mse') },
  init: { default: 'keras', check: oneOf('keras', 'pytorch') },
  forgetBias: { default: 1, check: (v: unknown, w: string) => checkNumber(v, w, -1e6, 1e6) },
  seed: { default: 0, check: (v: unknown, w: string) => checkInt(v, w, 0, Number.MAX_SAFE_INTEGER) },
  conditionSize: { default: 0, check: (v: unknown, w: string) => checkInt(v, w, 0, MAX_SIZE) },
  sampledSoftmax: { check: (v: unknown, w: string) => readOptions(SAMPLED_SOFTMAX_OPTIONS, v, { name: w, path: w }, undefined) },
  attention: { check: (v: unknown, w: string) => readOptions(ATTENTION_OPTIONS, v, { name: w, path: w }, undefined) },
  backend: { default: 'cpu', check: oneOf('auto', 'cpu', 'cuda') },
  device: { default: 0, check: (v: unknown, w: string) => checkInt(v, w, 0, 1024) },
  precision: { default: 'tf32', check: oneOf('tf32', 'fp32') },
  dtype: { default: 'float32', check: oneOf('float32', 'float64') },
} as const satisfies { [K in keyof Required<ModelConfig>]: unknown };

type Defaulted = { [K in keyof typeof MODEL_OPTIONS]: (typeof MODEL_OPTIONS)[K] extends { default: infer D } ? K : never }[keyof typeof MODEL_OPTIONS];

/** A top-level setting of a config, its default when the config leaves it out (checked configs only). */
export function setting<K extends Defaulted>(config: ModelConfig, key: K): NonNullable<ModelConfig[K]> {
  return (config[key] ?? MODEL_OPTIONS[key].default) as NonNullable<ModelConfig[K]>;
}

/** A recurrent layer's cell, its default when left out. */
export function cellOf(layer: RecurrentLayerConfig): NonNullable<RecurrentLayerConfig['cell']> {
  return layer.cell ?? LAYER_OPTIONS.cell.default;
}

/** A dense layer's activation, its default when left out. */
export function activationOf(dense: DenseLayerConfig): NonNullable<DenseLayerConfig['activation']> {
  return dense.activation ?? DENSE_OPTIONS.activation.default;
}

/**
 * Checks a ModelConfig and translates it into the binding's config, every field set.
 * @throws TypeError or RangeError naming the field.
 */
export function toNativeConfig(config: ModelConfig): NativeModelConfig {
  const c = readOptions(MODEL_OPTIONS, config, { name: 'model config', path: 'config' }, undefined);
  const input = readInput(c.input);
  if (!Array.isArray(c.layers) || c.layers.length === 0) {
    throw new TypeError('config.layers must be a non-empty array of recurrent layers');
  }
  const layers = c.layers.map(readLayer);
  const returnSequences = c.output === 'sequence';
  if (!Array.isArray(c.dense) || c.dense.length === 0) {
    throw new TypeError('config.dense must be a non-empty array (its last layer is the output)');
  }
  const dense = c.dense.map((d, i) => readOptions(DENSE_OPTIONS, d, { name: `config.dense[${i}]`, path: `config.dense[${i}]` }, undefined));
  const head = dense[dense.length - 1];
  if (c.loss === 'softmaxCrossEntropy' && head.units < 2) {
    throw new RangeError('a softmax output needs at least 2 units in its last dense layer');
  }
  const attention = c.attention ?? { memorySize: 0, score: ATTENTION_OPTIONS.score.default };
  if (c.attention !== undefined) {
    if (!returnSequences) throw new TypeError("config.attention needs output 'sequence'");
    const last = layers[layers.length - 1];
    const width = last.hidden * (last.bidirectional ? 2 : 1);
    if (attention.score === 'dot' && attention.memorySize !== width) {
      throw new RangeError(`attention score 'dot' needs memorySize equal to the last layer's output width ${width}`);
    }
  }
  if (c.sampledSoftmax !== undefined) {
    if (c.loss !== 'softmaxCrossEntropy') throw new TypeError("config.sampledSoftmax needs loss 'softmaxCrossEntropy'");
    if (head.activation !== 'linear') throw new TypeError('config.sampledSoftmax needs a linear output layer');
  }
  return {
    ...input,
    layers,
    returnSequences,
    dense,
    loss: c.loss,
    init: c.init,
    forgetBias: c.forgetBias,
    seed: c.seed,
    condition: c.conditionSize,
    sampledSoftmax: c.sampledSoftmax?.samples ?? 0,
    attention: attention.memorySize,
    attentionScore: attention.score,
  };
}

type NativeInput = Pick<NativeModelConfig, 'input' | 'vocab' | 'embeddingDim' | 'freezeEmbedding' | 'features'>;

// The input's kind and sizes; the fields of the other kinds are 0.
function readInput(input: InputConfig): NativeInput {
  const none = { vocab: 0, embeddingDim: 0, freezeEmbedding: false, features: 0 };
  switch (checkOneOf(input.type, 'config.input.type', ['embedding', 'oneHot', 'features'] as const)) {
    case 'embedding': {
      checkKeys(input, ['type', 'vocabSize', 'dim', 'frozen'], 'config.input');
      const e = input as Extract<InputConfig, { type: 'embedding' }>;
      return {
        ...none,
        input: 'embedding',
        vocab: size(e.vocabSize, 'config.input.vocabSize'),
        embeddingDim: size(e.dim, 'config.input.dim'),
        freezeEmbedding: flag(e.frozen ?? false, 'config.input.frozen'),
      };
    }
    case 'oneHot': {
      checkKeys(input, ['type', 'vocabSize'], 'config.input');
      const e = input as Extract<InputConfig, { type: 'oneHot' }>;
      return { ...none, input: 'oneHot', vocab: size(e.vocabSize, 'config.input.vocabSize') };
    }
    case 'features': {
      checkKeys(input, ['type', 'size'], 'config.input');
      const e = input as Extract<InputConfig, { type: 'features' }>;
      return { ...none, input: 'features', features: size(e.size, 'config.input.size') };
    }
  }
}

function readLayer(layer: RecurrentLayerConfig, i: number): NativeLayerConfig {
  const where = `config.layers[${i}]`;
  checkObject(layer, where);
  checkKeys(layer, keysOf(LAYER_OPTIONS), where);
  // A cell's own options are refused on other cells before the defaults fill them in.
  const cell = LAYER_OPTIONS.cell.check(layer.cell ?? LAYER_OPTIONS.cell.default, `${where}.cell`);
  if (layer.activation !== undefined && cell !== 'rnn') throw new TypeError(`${where}.activation applies to 'rnn' cells only`);
  if (layer.peephole !== undefined && cell !== 'lstm') throw new TypeError(`${where}.peephole applies to 'lstm' cells only`);
  if (layer.resetBefore !== undefined && cell !== 'gru') throw new TypeError(`${where}.resetBefore applies to 'gru' cells only`);
  const l = readOptions(LAYER_OPTIONS, layer, { name: where, path: where }, undefined);
  return {
    cell: cell === 'rnn' ? (l.activation === 'relu' ? 'rnn_relu' : 'rnn_tanh') : cell,
    hidden: l.units,
    bidirectional: l.bidirectional,
    peephole: l.peephole,
    resetBefore: l.resetBefore,
    dropoutInput: l.dropoutInput,
    dropoutOutput: l.dropoutOutput,
  };
}
