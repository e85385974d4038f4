#!/usr/bin/env node
// The image-captioning pattern on generated data: each "image" is a precomputed feature vector
// (as a CNN would give), the caption generator is an LSTM whose initial state is computed from
// those features (conditionSize), trained end to end with teacher forcing (<go> + caption in,
// caption + <eos> out, padding weighted 0), then captions are decoded with beam search until <eos>.
//   node examples/captions.mjs            # 36 scenes, 24 features, 1 x 128 LSTM, 1500 steps of 64
//   node examples/captions.mjs --quick    # 1 x 64 LSTM, 400 steps of 32 (a test: exact match > 95%)
// Scenes: shape (circle, square, triangle) x colour (red, green, blue, yellow) x place (left, right,
// centre); captions "a red circle on the left", "a blue square" (centre: no place words). The
// features are fixed random projections of the three attributes plus noise, so the model must
// read all three from the features; held-out images are fresh noise draws.
import { parseArgs } from 'node:util';
import { Model, WordVocabulary, beamSearch } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    steps: { type: 'string' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
  },
});
const quick = values.quick;
const cfg = {
  features: 24,
  units: quick ? 64 : 128,
  batch: quick ? 32 : 64,
  steps: Number(values.steps ?? (quick ? 400 : 1500)),
  learningRate: quick ? 0.01 : 0.005,
  noise: 1.0,
  heldOut: quick ? 200 : 1000,
};

function seeded(seed) {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a ^ (a >>> 15), 2246822519) + 0x9e3779b9) >>> 0) / 4294967296);
}
const random = seeded(Number(values.seed));
const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

const shapes = ['circle', 'square', 'triangle'];
const colours = ['red', 'green', 'blue', 'yellow'];
const places = ['left', 'right', 'centre'];
const scenes = shapes.flatMap((shape) => colours.flatMap((colour) => places.map((place) => ({ shape, colour, place }))));
const caption = (s) => `a ${s.colour} ${s.shape}` + (s.place === 'centre' ? '' : ` on the ${s.place}`);
// One fixed random direction per attribute value: an image's features are the sum of its three.
const direction = () => Float64Array.from({ length: cfg.features }, gauss);
const codes = Object.fromEntries([...shapes, ...colours, ...places].map((v) => [v, direction()]));
const features = (s) => Float64Array.from({ length: cfg.features }, (_, i) => codes[s.shape][i] + codes[s.colour][i] + codes[s.place][i] + cfg.noise * gauss());

const vocab = WordVocabulary.fromCorpus(scenes.map(caption), { minCount: 1 });
const [PAD, GO, EOS] = ['<pad>', '<go>', '<eos>'].map((w) => vocab.id(w));
const T = Math.max(...scenes.map((s) => vocab.encode(caption(s)).length)) + 1;

function batch(rows) {
  const inputs = new Int32Array(rows * T).fill(PAD);
  const targets = new Int32Array(rows * T).fill(PAD);
  const lengths = new Int32Array(rows);
  const condition = new Float64Array(rows * cfg.features);
  for (let b = 0; b < rows; b++) {
    const s = scenes[Math.floor(random() * scenes.length)];
    const words = vocab.encode(caption(s));
    inputs.set([GO, ...words], b * T);
    targets.set([...words, EOS], b * T);
    lengths[b] = words.length + 1; // steps past the length weigh 0
    condition.set(features(s), b * cfg.features);
  }
  return { inputs, targets, lengths, condition, batchSize: rows, steps: T };
}

const model = Model.create({
  input: { type: 'embedding', vocabSize: vocab.size, dim: 16 },
  layers: [{ cell: 'lstm', units: cfg.units }],
  dense: [{ units: vocab.size }],
  conditionSize: cfg.features,
  seed: Number(values.seed),
  backend: values.backend,
});
console.log(`captions: ${scenes.length} scenes, vocabulary ${vocab.size} (${vocab.reserved.join(' ')} + words), T = ${T}, ${model.info().parameterCount} parameters on ${model.info().backend}`);
const started = Date.now();
let loss = 0;
for (let i = 1; i <= cfg.steps; i++) {
  loss = (await model.trainStep(batch(cfg.batch), { learningRate: cfg.learningRate, clipNorm: 5 })).loss;
  if (i % Math.max(1, Math.floor(cfg.steps / 5)) === 0) console.log(`step ${i}: loss ${loss.toFixed(4)}`);
}
const trainSeconds = (Date.now() - started) / 1000;

let exact = 0;
const shown = [];
for (let i = 0; i < cfg.heldOut; i++) {
  const s = scenes[Math.floor(random() * scenes.length)];
  const [best] = await beamSearch(model, Int32Array.from([GO]), { maxLength: T + 2, beamWidth: 3, eos: EOS, condition: features(s) });
  const text = vocab.decode(best.tokens, { stopAt: '<eos>' });
  if (text === caption(s)) exact++;
  if (shown.length < 4) shown.push(`  ${JSON.stringify(caption(s))} -> ${JSON.stringify(text)}`);
}
console.log('--- held-out images (truth -> beam search) ---');
console.log(shown.join('\n'));
console.log(`result: ${JSON.stringify({ exactMatch: exact / cfg.heldOut, heldOut: cfg.heldOut, trainLoss: loss, trainSeconds, config: cfg, backend: model.info().backend })}`);
model.dispose();
