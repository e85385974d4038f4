// `fusedrnn sample <checkpoint-or-dir>`: streams a sample from a checkpoint (a directory means its
// latest) to stdout.
import { stat } from 'node:fs/promises';
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { CheckpointManager } from '../checkpoint/manager.js';
import { sampleTexts, streamText } from '../sampling.js';
import { UsageError, helpText, parseArgs } from './args.js';
import type { FlagSpecs } from './args.js';
import { checkPrimeFlag } from './prime.js';
import { PRODUCT_PRECISIONS, type ProductPrecision } from '../options/sample.js';

const SPECS: FlagSpecs = {
  prime: { kind: 'string', default: 'The ', help: 'text fed first (printed unless --no-prime)' },
  length: { kind: 'int', default: 500, min: 0, max: 1 << 24, help: 'characters to draw' },
  temperature: { kind: 'number', default: 1, min: 1e-6, max: 1e6, help: 'divide the logits by this' },
  'top-k': { kind: 'int', default: 0, min: 0, help: 'keep the k most likely characters (0: all)' },
  'top-p': { kind: 'number', default: 1, min: 1e-9, max: 1, help: 'keep the smallest set reaching this probability' },
  greedy: { kind: 'boolean', help: 'always the most likely character' },
  seed: { kind: 'int', min: 0, help: 'makes the output reproducible (default: random)' },
  stop: { kind: 'list', help: 'end a sample before this text' },
  count: { kind: 'int', default: 1, min: 1, max: 1024, help: 'independent samples, drawn as one batch' },
  'no-prime': { kind: 'boolean', help: 'do not print the prime' },
  precision: {
    kind: 'string',
    default: 'fp32',
    choices: PRODUCT_PRECISIONS,
    help: 'products with fp32, bfloat16 or int8 weights and inputs (bf16, int8: float32 CPU models, faster; logits move ~0.2% / ~1%)',
  },
};

export async function sampleCommand(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  if (argv.includes('--help')) {
    out.write(helpText('fusedrnn sample <checkpoint.safetensors | checkpoint-dir> [options]', 'Streams text sampled from a checkpoint.', SPECS));
    return;
  }
  const { flags: f, positionals } = parseArgs(argv, SPECS, 'sample');
  if (positionals.length !== 1) throw new UsageError('sample needs exactly one checkpoint file or directory (see fusedrnn sample --help)');
  const path = await resolveCheckpoint(positionals[0]);
  const { model, vocabulary } = await loadCheckpoint(path);
  try {
    if (vocabulary === undefined) throw new UsageError(`${path} has no vocabulary, so it cannot sample text`);
    const options = {
      prime: f.prime as string,
      length: f.length as number,
      temperature: f.temperature as number,
      topK: f['top-k'] as number,
      topP: f['top-p'] as number,
      greedy: f.greedy === true,
      stop: f.stop as string[],
      ...(f.seed === undefined ? {} : { seed: f.seed as number }),
      precision: f.precision as ProductPrecision,
    };
    // Checked before anything is printed, so a bad prime leaves stdout empty.
    checkPrimeFlag(vocabulary, f.prime as string);
    const prefix = f['no-prime'] ? '' : (f.prime as string);
    if (f.count === 1) {
      out.write(prefix);
      for await (const piece of streamText(model, vocabulary, options)) out.write(piece);
      out.write('\n');
    } else {
      const texts = await sampleTexts(model, vocabulary, { ...options, count: f.count as number });
      texts.forEach((t, i) => out.write(`--- sample ${i + 1} ---\n${prefix}${t}\n`));
    }
  } finally {
    model.dispose();
  }
}

/** A checkpoint file, or the newest checkpoint of a directory; a UsageError when neither. */
export async function resolveCheckpoint(path: string): Promise<string> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!isDirectory) return path;
  const latest = await new CheckpointManager({ directory: path }).latest();
  if (latest === undefined) throw new UsageError(`${path} holds no checkpoint (ckpt-<step>.safetensors)`);
  return latest.path;
}
