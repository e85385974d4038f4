// Public API of fusedrnn.
export { Model } from './model.js';
export type {
  Batch,
  GenerationState,
  TrainingState,
  CellType,
  DenseLayerConfig,
  EvaluateOptions,
  InputConfig,
  ModelConfig,
  ModelInfo,
  ParamInfo,
  PredictOptions,
  RecurrentLayerConfig,
  SampleOptions,
  StepResult,
  TrainStepOptions,
} from './model.js';
export { AbortError } from './abort.js';
export { Vocabulary, normalizeNewlines } from './vocab.js';
export type { VocabularyOptions } from './vocab.js';
export { charModelConfig, sampleText, streamBatches } from './text.js';
export type { CharModelOptions, TokenBatch } from './text.js';
export { loadNative, nativeStatus } from './native.js';
export type { Backend, LoadOptions, NativeStatus } from './native.js';
// The raw addon's contract: loadNative() returns it, and the model's types build on it.
export type * from '../typings/native.js';
export type * from '../typings/model.js';
export { builtinCorpus } from './corpus.js';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint/checkpoint.js';
export type { Checkpoint, Placement, SaveOptions } from './checkpoint/checkpoint.js';
export { CheckpointManager } from './checkpoint/manager.js';
export type { CheckpointEntry, CheckpointManagerOptions } from './checkpoint/manager.js';
export { loadStateDict } from './checkpoint/state-dict.js';
export type { StateDictOptions } from './checkpoint/state-dict.js';
export { WEIGHTS_FORMAT, encodeWeights, loadWeights, saveWeights } from './checkpoint/weights.js';
export { CheckpointFormatError, decodeSafetensors, encodeSafetensors } from './checkpoint/safetensors.js';
export type { SafetensorsFile, Tensor, TensorDtype } from './checkpoint/safetensors.js';
export { sampleTexts, streamText, StopMatcher } from './sampling.js';
export type { TextSampleOptions } from './sampling.js';
export { fit, evaluateData, predictData } from './fit.js';
export type {
  BatchLog,
  Batches,
  BatchSource,
  Trainable,
  EarlyStoppingOptions,
  EpochContext,
  EpochLog,
  EvaluateDataOptions,
  EvaluateDataResult,
  FitOptions,
  FitResult,
  PredictDataOptions,
  Predictions,
} from './fit.js';
export { BEST_CHECKPOINT } from './fit-checkpoint.js';
export type { FitCheckpointOptions } from './fit-checkpoint.js';
export { HISTORY_FILE, parseHistory, readHistory } from './history.js';
export type { HistoryEntry } from './history.js';
export { lineChartSvg } from './plot/svg.js';
export type { ChartSeries, LineChartOptions } from './plot/svg.js';
export { plotHistory } from './plot/history.js';
export type { PlotHistoryOptions } from './plot/history.js';
export { constantLR, cosineDecay, exponentialDecay } from './schedules.js';
export type { CosineDecayOptions, ExponentialDecayOptions, LearningRateSchedule } from './schedules.js';
export { ProgressBar, formatDuration } from './progress.js';
export type { ProgressSink, ProgressUpdate } from './progress.js';
export {
  bucketByLength,
  countStreamBatches,
  encodeTextFile,
  exampleBatches,
  fileStreamBatches,
  padSequences,
  randomWindows,
  seededRandom,
  shuffledIndices,
  slidingWindows,
  textbookBatches,
} from './data/index.js';
export type {
  BucketOptions,
  ExampleBatch,
  ExampleBatchOptions,
  ExampleSet,
  Flat,
  PadOptions,
  Padded,
  Random,
  RandomWindowOptions,
  SeriesWindows,
  TextFileOptions,
} from './data/index.js';
export { beamSearch } from './decode.js';
export { Seq2Seq } from './seq2seq.js';
export type { Seq2SeqBatch, Seq2SeqConfig, TranslateOptions } from './seq2seq.js';
export type { BeamSearchOptions, Hypothesis } from './decode.js';
export { generateSeries, streamSeries } from './series.js';
export type { SeriesOptions } from './series.js';
export { DEFAULT_RESERVED, WordVocabulary, tokenizeWords } from './word-vocab.js';
export type { WordVocabularyOptions } from './word-vocab.js';
