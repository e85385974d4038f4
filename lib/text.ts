// Character-model helpers: the textbook model's config, batches over an encoded text, sampling.
import type { Model, ModelConfig, SampleOptions } from './model.js';
import { checkInt, checkInt32Array, checkKeys, checkNumber, checkObject } from './validate.js';
import type { Vocabulary } from './vocab.js';

export interface CharModelOptions {
  vocabSize: number;
  /** Hidden units per layer (default 128; the textbook uses 512). */
  units?: number;
  /** Stacked LSTM layers (default 2). */
  layers?: number;
  /** Drop probability on each layer's output while training (textbook keep_prob 0.5 = 0.5). Default 0. */
  dropout?: number;
  /** Embed tokens in this many dimensions; default: one-hot input, as the textbook. */
  embeddingDim?: number;
  seed?: number;
  dtype?: 'float32' | 'float64';
}

/** The textbook char-LSTM: tokens -> L stacked LSTM layers (dropout) -> dense to vocab on every step. */
export function charModelConfig(options: CharModelOptions): ModelConfig {
  checkObject(options, 'options');
  checkKeys(options, ['vocabSize', 'units', 'layers', 'dropout', 'embeddingDim', 'seed', 'dtype'], 'char model options');
  const vocabSize = checkInt(options.vocabSize, 'options.vocabSize', 2);
  const units = checkInt(options.units ?? 128, 'options.units', 1);
  const layers = checkInt(options.layers ?? 2, 'options.layers', 1, 64);
  const dropout = checkNumber(options.dropout ?? 0, 'options.dropout', 0, 1, true);
  return {
    input:
      options.embeddingDim === undefined
        ? { type: 'oneHot', vocabSize }
        : { type: 'embedding', vocabSize, dim: checkInt(options.embeddingDim, 'options.embeddingDim', 1) },
    layers: Array.from({ length: layers }, () => ({ cell: 'lstm' as const, units, dropoutOutput: dropout })),
    dense: [{ units: vocabSize }],
    seed: options.seed ?? 0,
    dtype: options.dtype ?? 'float32',
  };
}

export interface TokenBatch {
  inputs: Int32Array;
  targets: Int32Array;
  batchSize: number;
  steps: number;
}

/**
 * Splits `ids` into `batchSize` contiguous streams and walks them `steps` at a time: batch k row b
 * continues batch k-1 row b, so the recurrent state can be carried between batches (truncated
 * BPTT). Targets are the next token. A tail shorter than `steps` is dropped.
 */
export function* streamBatches(ids: Int32Array, batchSize: number, steps: number): Generator<TokenBatch> {
  checkInt32Array(ids, 'ids');
  checkInt(batchSize, 'batchSize', 1);
  checkInt(steps, 'steps', 1);
  const streamLength = Math.floor((ids.length - 1) / batchSize);
  const count = Math.floor(streamLength / steps);
  if (count === 0) throw new RangeError(`ids (${ids.length} tokens) is too short for one ${batchSize}x${steps} batch`);
  for (let k = 0; k < count; k++) {
    const inputs = new Int32Array(batchSize * steps);
    const targets = new Int32Array(batchSize * steps);
    for (let b = 0; b < batchSize; b++) {
      const start = b * streamLength + k * steps;
      inputs.set(ids.subarray(start, start + steps), b * steps);
      targets.set(ids.subarray(start + 1, start + steps + 1), b * steps);
    }
    yield { inputs, targets, batchSize, steps };
  }
}

/** Primes the model with `prime` and returns `length` sampled characters. */
export async function sampleText(
  model: Model,
  vocab: Vocabulary,
  options: SampleOptions & { prime: string; length: number },
): Promise<string> {
  checkObject(options, 'options');
  const { prime, length, ...sample } = options;
  if (typeof prime !== 'string' || prime.length === 0) throw new TypeError('options.prime must be a non-empty string');
  const ids = await model.generate(vocab.encode(prime), checkInt(length, 'options.length', 0), sample);
  return vocab.decode(ids);
}
