// `fusedrnn train [corpus.txt]`: the textbook char-LSTM on a text file (or the package's own
// corpus), progress lines, validation, checkpoints to a directory, --resume, a sample at the end.
import { readFile } from 'node:fs/promises';
import { CheckpointManager } from '../checkpoint/manager.js';
import { builtinCorpus } from '../corpus.js';
import type { Placement } from '../checkpoint/checkpoint.js';
import { CheckpointFormatError } from '../checkpoint/safetensors.js';
import { Model, type CellType } from '../model.js';
import { streamText } from '../sampling.js';
import { charModelConfig } from '../text.js';
import { Vocabulary } from '../vocab.js';
import { UsageError, helpText, parseArgs } from './args.js';
import type { FlagSpecs } from './args.js';
import { checkPrimeFlag } from './prime.js';
import { runTraining } from './train-loop.js';

// Textbook defaults (the Anna Karenina char-RNN): 2x512 LSTM, dropout 0.5, 100x100 batches,
// Adam 1e-3, clip 5, top-n 4 sampling.
const SPECS: FlagSpecs = {
  cell: { kind: 'string', default: 'lstm', choices: ['lstm', 'gru', 'rnn'], help: 'recurrent cell of every layer' },
  units: { kind: 'int', default: 512, min: 1, help: 'units per recurrent layer' },
  layers: { kind: 'int', default: 2, min: 1, max: 64, help: 'stacked recurrent layers' },
  dropout: { kind: 'number', default: 0.5, min: 0, max: 0.99, help: "drop probability on each layer's output while training, 1 - keep_prob" },
  'embedding-dim': { kind: 'int', min: 1, help: 'embed characters (default: one-hot input)' },
  'batch-size': { kind: 'int', default: 100, min: 1, help: 'sequences per batch' },
  'seq-len': { kind: 'int', default: 100, min: 1, help: 'steps per sequence (truncated BPTT)' },
  epochs: { kind: 'int', default: 20, min: 1, help: 'passes over the training text' },
  steps: { kind: 'int', min: 1, help: 'stop after this many steps in total (overrides --epochs)' },
  lr: { kind: 'number', default: 0.001, min: 0, help: 'Adam learning rate' },
  clip: { kind: 'number', default: 5, min: 0, help: 'clip the global gradient norm (0: off)' },
  'val-split': { kind: 'number', default: 0.1, min: 0, max: 0.5, help: 'fraction of the text held out for validation (its end)' },
  'val-stateless': {
    kind: 'boolean',
    help: 'validation restarts every window from a zero state (default: the state carries across the held-out text\'s consecutive windows, as in training and sampling)',
  },
  seed: { kind: 'int', default: 0, min: 0, help: 'seeds initialisation, dropout and the final sample' },
  dtype: { kind: 'string', default: 'float32', choices: ['float32', 'float64'], help: 'arithmetic of the model (float64: CPU only, for checks)' },
  backend: { kind: 'string', default: 'cpu', choices: ['cpu', 'cuda', 'auto'], help: 'where to train (auto: the GPU when usable, else the CPU)' },
  device: { kind: 'int', min: 0, max: 1024, help: 'CUDA device ordinal (default 0)' },
  precision: { kind: 'string', choices: ['tf32', 'fp32'], help: 'GPU training arithmetic: tf32 tensor cores with fp32 accumulation (default) or exact fp32' },
  dir: { kind: 'string', default: 'checkpoints', help: 'checkpoint directory' },
  every: { kind: 'int', default: 200, min: 0, help: 'save a checkpoint every N steps (0: only at the end)' },
  keep: { kind: 'int', default: 5, min: 0, help: 'checkpoints to keep (0: all)' },
  resume: { kind: 'boolean', help: 'continue from the latest checkpoint in --dir' },
  'log-every': { kind: 'int', default: 10, min: 1, help: 'print a progress line every N steps' },
  'sample-length': { kind: 'int', default: 300, min: 0, help: 'characters to sample at the end' },
  prime: {
    kind: 'string',
    help: "text to prime the final sample with; every character must be in the vocabulary, as for sample (default: the corpus's first character)",
  },
  'top-k': { kind: 'int', default: 4, min: 0, help: 'final sample: keep the k most likely characters' },
};

export async function trainCommand(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  if (argv.includes('--help')) {
    out.write(
      helpText(
        'fusedrnn train [corpus.txt] [options]',
        "Trains a character-level recurrent model (on the package's own text without a corpus). " +
          'Validation loss is measured statefully over the held-out end of the text unless --val-stateless.',
        SPECS,
      ),
    );
    return;
  }
  const { flags: f, positionals } = parseArgs(argv, SPECS, 'train');
  if (positionals.length > 1) throw new UsageError(`train takes one corpus file, got ${positionals.length} arguments`);
  const text = positionals.length === 1 ? await readCorpus(positionals[0]) : builtinCorpus();
  const manager = new CheckpointManager({ directory: f.dir as string, every: f.every as number, maxToKeep: f.keep as number });

  let model: Model;
  let vocab: Vocabulary;
  let cursor = { epoch: 0, batch: 0, step: 0 };
  // Where to run: a resumed checkpoint takes it from the flags too (a checkpoint does not store it).
  const placement: Placement = { backend: f.backend as Placement['backend'] };
  if (f.device !== undefined) placement.device = f.device as number;
  if (f.precision !== undefined) placement.precision = f.precision as Placement['precision'];
  const restored = f.resume ? await onBackend(placement, () => manager.restore(placement)) : undefined;
  if (f.resume && restored === undefined) throw new UsageError(`--resume: no checkpoint in ${f.dir}`);
  if (restored !== undefined) {
    if (restored.vocabulary === undefined) throw new UsageError('--resume: the checkpoint has no vocabulary');
    model = restored.model;
    vocab = restored.vocabulary;
    cursor = restored.dataCursor as typeof cursor;
    out.write(`resumed from ${(await manager.latest())!.path} at step ${cursor.step}\n`);
  } else {
    vocab = Vocabulary.fromText(text);
    model = await onBackend(placement, async () => Model.create({
      ...charModelConfig({
        vocabSize: vocab.size,
        cell: f.cell as CellType,
        units: f.units as number,
        layers: f.layers as number,
        dropout: f.dropout as number,
        embeddingDim: f['embedding-dim'] as number | undefined,
        seed: f.seed as number,
        dtype: f.dtype as 'float32' | 'float64',
      }),
      ...placement,
    }));
  }
  let ids: Int32Array;
  try {
    ids = vocab.encode(text);
  } catch (error) {
    throw new UsageError(`the corpus does not fit the checkpoint's vocabulary: ${(error as Error).message}`);
  }
  // The closing sample's prime follows sample's rule; a bad one is refused before training.
  const prime = (f.prime as string | undefined) ?? vocab.decode(ids.subarray(0, 1));
  if ((f['sample-length'] as number) > 0) checkPrimeFlag(vocab, prime);
  const valLength = Math.floor(ids.length * (f['val-split'] as number));
  out.write(
    `corpus: ${ids.length} characters (${valLength} for validation), vocabulary ${vocab.size}, ` +
      `${model.info().parameterCount} parameters, ${model.info().backend}/${model.info().dtype}\n`,
  );
  try {
    await runTraining({
      model,
      vocab,
      train: ids.subarray(0, ids.length - valLength),
      validation: valLength > 0 ? ids.subarray(ids.length - valLength) : undefined,
      validationStateless: f['val-stateless'] === true,
      batchSize: f['batch-size'] as number,
      steps: f['seq-len'] as number,
      epochs: f.epochs as number,
      maxSteps: f.steps as number | undefined,
      stepOptions: { learningRate: f.lr as number, clipNorm: f.clip as number, carryState: true },
      logEvery: f['log-every'] as number,
      manager,
      cursor,
      out,
    });
    if ((f['sample-length'] as number) > 0) {
      out.write('--- sample ---\n');
      out.write(prime);
      const options = { prime, length: f['sample-length'] as number, topK: f['top-k'] as number, seed: f.seed as number };
      for await (const piece of streamText(model, vocab, options)) out.write(piece);
      out.write('\n');
    }
  } finally {
    model.dispose();
  }
}

// A backend that cannot be used (no driver, no device) is the user's flag to fix: one line naming it.
async function onBackend<T>(placement: Placement, build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (error) {
    const notPlacement = error instanceof TypeError || error instanceof RangeError || error instanceof UsageError || error instanceof CheckpointFormatError;
    if (placement.backend === 'cpu' || notPlacement || (error as NodeJS.ErrnoException).code !== undefined) throw error;
    throw new UsageError(`--backend ${placement.backend}: ${(error as Error).message.replace(/^fusedrnn: /, '')}`);
  }
}

async function readCorpus(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read corpus ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (text.length < 2) {
    throw new UsageError(
      `corpus ${path} has ${text.length} character${text.length === 1 ? '' : 's'}: training needs at least 2 (an input and the next one)`,
    );
  }
  return text;
}
