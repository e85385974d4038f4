#!/usr/bin/env node
// The sin-wave regressor: predict sin(x) from the 20 values before it, then plot predicted vs
// true on the test range as an SVG.
//   node examples/sin-wave.mjs            # full run
//   node examples/sin-wave.mjs --quick    # the CI-sized run (also a test)
//   node examples/sin-wave.mjs --out plot.svg
// Configuration (the textbook's): samples of sin every 0.01 rad, windows of 20 steps ->
// 2 stacked LSTM layers of 20 units -> last step -> dense(1, tanh) -> MSE; Adam, batch 32.
// The test range starts where training ends, as in the book.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Model, cosineDecay, exampleBatches, fit, lineChartSvg, predictData, slidingWindows } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'sin-wave.svg' },
    seed: { type: 'string', default: '1' },
  },
});
const steps = 20;
const trainCount = values.quick ? 4000 : 10000;
const testCount = 1000;
const epochs = values.quick ? 6 : 20;
const interval = 0.01;
const sinFrom = (start, count) => Float64Array.from({ length: count + steps }, (_, i) => Math.sin((start + i) * interval));
const train = slidingWindows(sinFrom(0, trainCount), steps);
const test = slidingWindows(sinFrom(trainCount + steps, testCount), steps);

const model = Model.create({
  input: { type: 'features', size: 1 },
  layers: [{ units: 20 }, { units: 20 }],
  output: 'last',
  dense: [{ units: 1, activation: 'tanh' }],
  loss: 'mse',
  seed: Number(values.seed),
});
const batchesPerEpoch = Math.ceil(trainCount / 32);
const started = Date.now();
await fit(model, ({ seed }) => exampleBatches(train, 32, { shuffle: true, seed }), {
  epochs,
  learningRate: cosineDecay({ initial: 1e-2, decaySteps: epochs * batchesPerEpoch, minimum: 2e-4 }),
  seed: Number(values.seed),
});
const predicted = (await predictData(model, exampleBatches(test, 250))).values;
let mse = 0;
for (let i = 0; i < testCount; i++) mse += (predicted[i] - test.targets[i]) ** 2 / testCount;
const seconds = (Date.now() - started) / 1000;
writeAtomically(values.out, svgPlot(test.targets, predicted));
console.log(`test MSE ${mse.toExponential(3)} over ${testCount} points; plot written to ${values.out}`);
console.log(`result: ${JSON.stringify({ testMse: mse, epochs, trainCount, seconds, plot: values.out })}`);

function svgPlot(truth, pred) {
  const x = Array.from(truth, (_, i) => (trainCount + steps + steps + i) * interval);
  return lineChartSvg(
    [
      { name: 'true sin(x)', x, y: truth, width: 3 },
      { name: 'predicted', x, y: pred.subarray(0, truth.length), width: 1.5, dashed: true },
    ],
    { width: 800, height: 360, title: `sin(x) on the test range: test MSE ${mse.toExponential(2)}`, xLabel: 'x (rad)', yLabel: 'sin(x)' },
  );
}

// A reader never sees half a plot: write a temp file, flush it to disk, rename over the target.
function writeAtomically(path, text) {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
