#!/usr/bin/env node
// The textbook char-LSTM on Anna Karenina (the anna-KaRNNa notebook), then a sample.
//   node examples/anna.mjs                  # textbook hyperparameters, 20 epochs (very slow on the CPU path today)
//   node examples/anna.mjs --backend cuda   # the same on a GPU (--precision fp32 for exact fp32)
//   node examples/anna.mjs --quick          # a CI-sized run (also a test): see QUICK below
//   node examples/anna.mjs --chars 500000 --units 128 --batch 32 --steps 50 --lr 4e-3 --dropout 0 --epochs 3 --batches next
// Textbook configuration: one-hot input (V = 83), 2 stacked LSTM layers of 512 units, dropout 0.5
// on each layer's output (keep_prob 0.5), batch 100 sequences x 100 steps, Adam lr 1e-3, global
// norm clip 5, state carried across batches and reset per epoch, the book's get_batches
// (--batches textbook, its quirky last target) or the true next character (--batches next).
// 10% of the text is held out (the book trains on all of it) and evaluated statefully per epoch.
import { existsSync, readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Model, Vocabulary, charModelConfig, fit, sampleText, streamBatches, textbookBatches } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    text: { type: 'string', default: resolve(here, '..', '..', 'shared', 'data', 'anna.txt') },
    chars: { type: 'string' },
    epochs: { type: 'string' },
    units: { type: 'string' },
    dropout: { type: 'string' },
    lr: { type: 'string' },
    batch: { type: 'string' },
    steps: { type: 'string' },
    batches: { type: 'string', default: 'textbook' },
    'max-batches': { type: 'string' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
    precision: { type: 'string', default: 'tf32' },
  },
});
if (!existsSync(values.text)) {
  console.log(`result: ${JSON.stringify({ skipped: `${values.text} not found (pass --text path/to/anna.txt)` })}`);
  process.exit(0);
}
// QUICK: 2x128 units, no dropout, 32 x 50 batches, lr 4e-3, first 100k characters, 60 batches.
const quick = values.quick;
const cfg = {
  units: Number(values.units ?? (quick ? 128 : 512)),
  dropout: Number(values.dropout ?? (quick ? 0 : 0.5)),
  batchSize: Number(values.batch ?? (quick ? 32 : 100)),
  steps: Number(values.steps ?? (quick ? 50 : 100)),
  learningRate: Number(values.lr ?? (quick ? 4e-3 : 1e-3)),
  epochs: Number(values.epochs ?? (quick ? 1 : 20)),
  chars: Number(values.chars ?? (quick ? 100_000 : Infinity)),
  maxBatches: Number(values['max-batches'] ?? (quick ? 60 : Infinity)),
};
const full = readFileSync(values.text, 'utf8');
const vocab = Vocabulary.fromText(full);
const ids = vocab.encode([...full].slice(0, Number.isFinite(cfg.chars) ? cfg.chars : undefined).join(''));
const split = Math.floor(ids.length * 0.9);
const train = ids.subarray(0, split);
const heldOut = ids.subarray(split);
const generator = values.batches === 'next' ? streamBatches : textbookBatches;
if (values.batches !== 'next' && values.batches !== 'textbook') throw new RangeError("--batches must be 'textbook' or 'next'");

const model = Model.create({
  ...charModelConfig({ vocabSize: vocab.size, units: cfg.units, layers: 2, dropout: cfg.dropout, seed: Number(values.seed) }),
  backend: values.backend,
  precision: values.precision,
});
console.log(`anna: ${ids.length} characters (V = ${vocab.size}), ${model.info().parameterCount} parameters, ${JSON.stringify(cfg)}`);
function* limited(batches) {
  let n = 0;
  for (const b of batches) {
    if (n++ >= cfg.maxBatches) return;
    yield b;
  }
}
const started = Date.now();
const { history } = await fit(model, () => limited(generator(train, cfg.batchSize, cfg.steps)), {
  epochs: cfg.epochs,
  learningRate: cfg.learningRate,
  clipNorm: 5,
  stateful: true,
  validationData: () => streamBatches(heldOut, Math.min(cfg.batchSize, 10), cfg.steps),
  seed: Number(values.seed),
});
const sample = await sampleText(model, vocab, { prime: 'Far', length: quick ? 200 : 1000, temperature: 1, topK: 5, seed: 7 });
const last = history[history.length - 1];
console.log('--- sample (prime "Far", top 5) ---');
console.log(sample);
console.log(`result: ${JSON.stringify({ heldOutLoss: last.valLoss, trainLoss: last.loss, batches: history.reduce((n, h) => n + h.batches, 0), seconds: (Date.now() - started) / 1000, config: cfg, backend: model.info().backend, device: model.info().device?.name, precision: model.info().precision })}`);
