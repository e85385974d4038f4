// `fusedrnn export <checkpoint|dir> <out.safetensors>`: the model's weights only, under PyTorch
// names, for torch.nn modules' load_state_dict (see saveWeights).
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { saveWeights } from '../checkpoint/weights.js';
import { UsageError, helpText, parseArgs } from './args.js';
import { resolveCheckpoint } from './sample.js';

const USAGE = 'fusedrnn export <checkpoint.safetensors | checkpoint-dir> <out.safetensors>';
const SUMMARY = `Writes the model's weights only (no optimizer state) under PyTorch names: embedding.weight,
rnn.weight_ih_l<k>, ..., dense.weight. Each torch.nn.LSTM/GRU/RNN, Embedding and Linear loads
its slice with load_state_dict(strict=True) once the prefix ("rnn.", "embedding.", "dense.") is
stripped. A directory means its latest checkpoint.`;

export async function exportCommand(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  if (argv.includes('--help')) {
    out.write(helpText(USAGE, SUMMARY, {}));
    return;
  }
  const { positionals } = parseArgs(argv, {}, 'export');
  if (positionals.length !== 2) throw new UsageError('export needs a checkpoint (file or directory) and an output file (see fusedrnn export --help)');
  const source = await resolveCheckpoint(positionals[0]);
  const { model } = await loadCheckpoint(source);
  try {
    await saveWeights(model, positionals[1]);
  } finally {
    model.dispose();
  }
  out.write(`wrote ${positionals[1]} (weights of ${source})\n`);
}
