// Public API of fusedrnn.
export { Model } from './model.js';
export type {
  Batch,
  CellType,
  DenseLayerConfig,
  EvaluateOptions,
  InputConfig,
  ModelConfig,
  ParamInfo,
  RecurrentLayerConfig,
  SampleOptions,
  StepResult,
  TrainStepOptions,
} from './model.js';
export { Vocabulary, normalizeNewlines } from './vocab.js';
export type { VocabularyOptions } from './vocab.js';
export { charModelConfig, sampleText, streamBatches } from './text.js';
export type { CharModelOptions, TokenBatch } from './text.js';
export { loadNative, nativeStatus } from './native.js';
export type { Backend, LoadOptions, NativeStatus } from './native.js';
export { builtinCorpus } from './corpus.js';
