// Data utilities: batch generators over text, series and example sets, padding, bucketing, files.
export { streamBatches, textbookBatches, countStreamBatches } from './text-batches.js';
export type { TokenBatch } from './text-batches.js';
export { slidingWindows, randomWindows } from './windows.js';
export type { SeriesWindows, RandomWindowOptions } from './windows.js';
export { exampleBatches } from './examples.js';
export type { ExampleSet, ExampleBatch, ExampleBatchOptions, Flat } from './examples.js';
export { padSequences, bucketByLength } from './padding.js';
export type { PadOptions, Padded, BucketOptions } from './padding.js';
export { encodeTextFile, fileStreamBatches } from './text-file.js';
export type { TextFileOptions } from './text-file.js';
export { seededRandom, shuffledIndices } from './random.js';
export type { Random } from './random.js';
