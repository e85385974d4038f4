#!/usr/bin/env node
// The main job: train a small character-level LSTM and print a sample.
//   npm run demo                     # trains on the corpus that ships inside the package
//   npm run demo -- corpus.txt       # on your own text
//   npm run demo -- corpus.txt --steps 500 --units 256
// Configuration: 2 stacked LSTM layers, one-hot input, B=32 sequences x T=50 steps, Adam lr 4e-3,
// gradient clipping at 5, state carried across batches (truncated BPTT), 10% held out.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Model, Vocabulary, builtinCorpus, charModelConfig, evaluateData, sampleText, streamBatches } from '../dist/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    steps: { type: 'string', default: '200' },
    units: { type: 'string', default: '128' },
    length: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
  },
});
const text = positionals[0] ? readFileSync(positionals[0], 'utf8') : builtinCorpus();
const source = positionals[0] ?? 'the package itself';
const vocab = Vocabulary.fromText(text);
const ids = vocab.encode(text);
const split = Math.floor(ids.length * 0.9);
const [train, heldOut] = [ids.subarray(0, split), ids.subarray(split)];
const steps = Number(values.steps);
const model = Model.create(charModelConfig({ vocabSize: vocab.size, units: Number(values.units), layers: 2, seed: Number(values.seed) }));
console.log(`corpus: ${source}, ${ids.length} characters, vocabulary ${vocab.size}; model ${model.info().parameterCount} parameters`);

// At most 100 batches of 4x50 characters: enough for a stable estimate, quick on a large corpus.
const heldOutBatches = [...streamBatches(heldOut, 4, 50)].slice(0, 100);
const heldOutLoss = async () => (await evaluateData(model, heldOutBatches)).loss;

let step = 0;
const started = Date.now();
console.log(`step 0: held-out loss ${(await heldOutLoss()).toFixed(3)}`);
while (step < steps) {
  model.resetState();
  for (const batch of streamBatches(train, 32, 50)) {
    const r = await model.trainStep(batch, { learningRate: 4e-3, clipNorm: 5, carryState: true });
    step++;
    if (step % 50 === 0 || step === steps) {
      const secs = (Date.now() - started) / 1000 / step;
      console.log(`step ${step}: train loss ${r.loss.toFixed(3)}, held-out ${(await heldOutLoss()).toFixed(3)}, ${secs.toFixed(3)} s/batch`);
    }
    if (step === steps) break;
  }
}
const sample = await sampleText(model, vocab, {
  prime: [...text].slice(0, 1)[0],
  length: Number(values.length),
  temperature: 0.8,
  topK: 4,
  seed: 7,
});
console.log('--- sample ---');
console.log(sample);
