// Character-model helpers: the textbook model's config, batches over an encoded text, sampling.
import type { CellType, Model, ModelConfig, SampleOptions } from './model.js';
import { checkInt, checkKeys, checkNumber, checkObject, checkOneOf } from './validate.js';
import type { Vocabulary } from './vocab.js';
import { AbortError } from './abort.js';

/** The shape of the textbook character model {@link charModelConfig} builds. */
export interface CharModelOptions {
  vocabSize: number;
  /** Hidden units per layer (default 128; the textbook uses 512). */
  units?: number;
  /** Stacked recurrent layers (default 2). */
  layers?: number;
  /** The recurrent cell of every layer (default 'lstm', the textbook's). */
  cell?: CellType;
  /** Drop probability on each layer's output while training (textbook keep_prob 0.5 = 0.5). Default 0. */
  dropout?: number;
  /** Embed tokens in this many dimensions; default: one-hot input, as the textbook. */
  embeddingDim?: number;
  seed?: number;
  dtype?: 'float32' | 'float64';
}

/**
 * The textbook char-LSTM: tokens -> L stacked LSTM (or options.cell) layers (dropout) -> dense to
 * vocab on every step.
 * @returns a {@link ModelConfig} for {@link Model.create}.
 * @throws TypeError or RangeError naming the argument when one is missing, of the wrong type or out of range.
 */
export function charModelConfig(options: CharModelOptions): ModelConfig {
  checkObject(options, 'options');
  checkKeys(options, ['vocabSize', 'units', 'layers', 'cell', 'dropout', 'embeddingDim', 'seed', 'dtype'], 'char model options');
  const cell = checkOneOf(options.cell ?? 'lstm', 'options.cell', ['lstm', 'gru', 'rnn'] as const);
  const vocabSize = checkInt(options.vocabSize, 'options.vocabSize', 2);
  const units = checkInt(options.units ?? 128, 'options.units', 1);
  const layers = checkInt(options.layers ?? 2, 'options.layers', 1, 64);
  const dropout = checkNumber(options.dropout ?? 0, 'options.dropout', 0, 1, true);
  return {
    input:
      options.embeddingDim === undefined
        ? { type: 'oneHot', vocabSize }
        : { type: 'embedding', vocabSize, dim: checkInt(options.embeddingDim, 'options.embeddingDim', 1) },
    layers: Array.from({ length: layers }, () => ({ cell, units, dropoutOutput: dropout })),
    dense: [{ units: vocabSize }],
    seed: options.seed ?? 0,
    dtype: options.dtype ?? 'float32',
  };
}

// The stream batch generators live in data/text-batches.ts; re-exported here for existing imports.
export { streamBatches } from './data/text-batches.js';
export type { TokenBatch } from './data/text-batches.js';

/**
 * Primes the model with `prime` and samples `length` characters.
 * @returns a promise of the sampled text, without the prime.
 * @throws TypeError or RangeError (as a rejection) for an empty prime, a character the vocabulary lacks, or a
 *   bad option; an AbortError whose `partial` is the text drawn before the abort, when options.signal aborts it.
 */
export async function sampleText(
  model: Model,
  vocab: Vocabulary,
  options: SampleOptions & { prime: string; length: number },
): Promise<string> {
  checkObject(options, 'options');
  const { prime, length, ...sample } = options;
  if (typeof prime !== 'string' || prime.length === 0) throw new TypeError('options.prime must be a non-empty string');
  try {
    return vocab.decode(await model.generate(vocab.encode(prime), checkInt(length, 'options.length', 0), sample));
  } catch (error) {
    if (error instanceof AbortError) throw new AbortError(error.message, vocab.decode(error.partial as Int32Array), error.cause);
    throw error;
  }
}
