// `fusedrnn plot <dir | history.jsonl>`: the loss curves of a training run as a self-contained SVG.
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { HISTORY_FILE, readHistory } from '../history.js';
import { plotHistory } from '../plot/history.js';
import { UsageError, helpText, parseArgs } from './args.js';
import type { FlagSpecs } from './args.js';

const SPECS: FlagSpecs = {
  out: { kind: 'string', help: 'the SVG file to write (default: history.svg next to the history)' },
  log: { kind: 'boolean', help: 'logarithmic loss axis' },
  width: { kind: 'int', default: 720, min: 160, max: 10000, help: 'pixels' },
  height: { kind: 'int', default: 420, min: 160, max: 10000, help: 'pixels' },
};

export async function plotCommand(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  if (argv.includes('--help')) {
    const summary = `Plots training and validation loss by step from ${HISTORY_FILE} (fusedrnn train and fit's checkpoint option write it).`;
    out.write(helpText('fusedrnn plot <checkpoint-dir | history.jsonl> [options]', summary, SPECS));
    return;
  }
  const { flags: f, positionals } = parseArgs(argv, SPECS, 'plot');
  if (positionals.length !== 1) throw new UsageError('plot needs exactly one checkpoint directory or history file (see fusedrnn plot --help)');
  let source = positionals[0];
  try {
    if ((await stat(source)).isDirectory()) source = join(source, HISTORY_FILE);
  } catch (error) {
    throw new UsageError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let entries;
  try {
    entries = await readHistory(source);
  } catch (error) {
    throw new UsageError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (entries.length === 0) throw new UsageError(`${source} has no entries yet`);
  const target = (f.out as string | undefined) ?? join(dirname(source), 'history.svg');
  const svg = plotHistory(entries, { logScale: f.log === true, width: f.width as number, height: f.height as number });
  await writeFileAtomic(target, Buffer.from(svg));
  out.write(`wrote ${target} (${entries.length} entries)\n`);
}
