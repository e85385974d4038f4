#!/usr/bin/env node
// The image-row classifier: each 28x28 image is a sequence of 28 rows of 28 pixels; one LSTM layer
// of 150 units, its last state -> dense(10) -> softmax. Data: Debian's dataset-fashion-mnist
// (apt install dataset-fashion-mnist); without it the run is reported as skipped, and --generated
// trains on synthetic stripes instead (a smoke test of the pipeline, not a result).
//   node examples/image-rows.mjs                 # full run: 60k training images, 2 epochs
//   node examples/image-rows.mjs --quick         # 6k images, 1 epoch (CI-sized; also a test)
//   node examples/image-rows.mjs --generated     # synthetic data
// Configuration: batch 128, Adam lr 2e-3 with exponential decay (x0.5 per epoch), clip 5.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { Model, evaluateData, exampleBatches, exponentialDecay, fit, seededRandom } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    generated: { type: 'boolean', default: false },
    dir: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    epochs: { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
});
const files = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const installed = files.every((f) => existsSync(join(values.dir, f)));
if (!installed && !values.generated) {
  console.log(`result: ${JSON.stringify({ skipped: `Fashion-MNIST not found in ${values.dir} (apt install dataset-fashion-mnist)` })}`);
  process.exit(0);
}

const [trainSet, testSet] = installed && !values.generated
  ? [load(files[0], files[1], values.quick ? 3000 : Infinity), load(files[2], files[3], values.quick ? 1000 : Infinity)]
  : [stripes(values.quick ? 3000 : 10000, 1), stripes(500, 2)];
const source = installed && !values.generated ? 'fashion-mnist' : 'generated';
const epochs = Number(values.epochs ?? (values.quick ? 1 : 2));
const batchSize = 128;
const model = Model.create({
  input: { type: 'features', size: 28 },
  layers: [{ cell: 'lstm', units: 150 }],
  output: 'last',
  dense: [{ units: 10 }],
  seed: Number(values.seed),
});
const perEpoch = Math.ceil(trainSet.count / batchSize);
const started = Date.now();
await fit(model, ({ seed }) => exampleBatches(trainSet, batchSize, { shuffle: true, seed }), {
  epochs,
  learningRate: exponentialDecay({ initial: 2e-3, decayRate: 0.5, decaySteps: perEpoch }),
  clipNorm: 5,
  seed: Number(values.seed),
});
const test = await evaluateData(model, () => exampleBatches(testSet, 500));
const seconds = (Date.now() - started) / 1000;
console.log(`${source}: ${trainSet.count} training images, ${epochs} epoch(s): test accuracy ${(test.accuracy * 100).toFixed(2)}% (loss ${test.loss.toFixed(4)}) on ${testSet.count} images, ${seconds.toFixed(0)} s`);
console.log(`result: ${JSON.stringify({ source, testAccuracy: test.accuracy, testLoss: test.loss, trainCount: trainSet.count, testCount: testSet.count, epochs, seconds })}`);

// IDX files (big-endian header: magic, counts, then raw bytes), pixels scaled to [0, 1].
function load(imageFile, labelFile, limit) {
  const images = gunzipSync(readFileSync(join(values.dir, imageFile)));
  const labels = gunzipSync(readFileSync(join(values.dir, labelFile)));
  if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error(`${imageFile}/${labelFile}: not IDX image/label files`);
  const count = Math.min(limit, images.readUInt32BE(4), labels.readUInt32BE(4));
  const inputs = new Float32Array(count * 784);
  for (let i = 0; i < inputs.length; i++) inputs[i] = images[16 + i] / 255;
  const targets = Int32Array.from(labels.subarray(8, 8 + count));
  return { inputs, targets, count, steps: 28 };
}

// Class c: a bright horizontal stripe at row 2c..2c+2 plus noise; learnable only from the rows.
function stripes(count, seed) {
  const random = seededRandom(seed);
  const inputs = new Float32Array(count * 784);
  const targets = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const c = Math.floor(random() * 10);
    targets[n] = c;
    for (let i = 0; i < 784; i++) {
      const row = Math.floor(i / 28);
      inputs[n * 784 + i] = 0.2 * random() + (row >= 2 * c + 4 && row < 2 * c + 6 ? 0.8 : 0);
    }
  }
  return { inputs, targets, count, steps: 28 };
}
