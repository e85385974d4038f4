#!/usr/bin/env node
// The `fusedrnn` command. A user mistake ends with one line on stderr and exit code 2 (usage)
// or 1 (bad input such as a corrupt checkpoint); stack traces only with FUSEDRNN_DEBUG=1.
import { CheckpointFormatError } from '../checkpoint/safetensors.js';
import { UsageError } from './args.js';
import { exportCommand } from './export.js';
import { infoCommand, packageVersion } from './info.js';
import { plotCommand } from './plot.js';
import { sampleCommand } from './sample.js';
import { trainCommand } from './train.js';
import { Interrupted } from './train-loop.js';

const COMMANDS: Record<string, (argv: string[], out: NodeJS.WritableStream) => Promise<void>> = {
  train: trainCommand,
  sample: sampleCommand,
  info: infoCommand,
  export: exportCommand,
  plot: plotCommand,
};

const HELP = `usage: fusedrnn <command> [options]

commands:
  train [corpus.txt]          train a character LSTM, checkpoints to --dir
  sample <checkpoint|dir>     stream text sampled from a checkpoint
  info                        version, backend, device, build flags
  export <checkpoint> <out>   the weights only, under PyTorch names
  plot <dir>                  the loss curves of a run as an SVG

fusedrnn <command> --help shows a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) throw new UsageError(`unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  await run(rest, process.stdout);
  return 0;
}

function report(error: unknown): number {
  if (error instanceof Interrupted) return error.exitCode;  // the loop has said where it saved
  if (process.env.FUSEDRNN_DEBUG === '1') console.error(error);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`fusedrnn: ${message.split('\n')[0]}\n`);
  if (error instanceof UsageError) return 2;
  const userError = error instanceof CheckpointFormatError || error instanceof TypeError || error instanceof RangeError;
  if (!userError && process.env.FUSEDRNN_DEBUG !== '1') process.stderr.write('fusedrnn: (set FUSEDRNN_DEBUG=1 for details)\n');
  return 1;
}

// A closed stdout (e.g. `| head`) ends the program quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.exitCode = report(error);
  },
);
