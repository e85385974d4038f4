// brain.js 2.0.0-beta.24. Its API takes one sequence per call, so its figures are per sequence
// (the table also gives them times B for a rough per-batch comparison). How each workload is
// expressed:
//   W1/W2/W3: recurrent.LSTM / recurrent.GRU over an 83-character DataFormatter (brain.js looks
//     the token up in an input matrix, i.e. one-hot times weights), hiddenLayers [H, H], softmax
//     output on every step; trainPattern(sequence of T ids) = forward, backward, update.
//   W4: run(prime, sample = true, temperature): softmax with temperature and a random draw per
//     character; it stops early when it draws its end token, so runs are repeated until `chars`
//     characters are drawn (each run restarts from a zero state).
//   W5: recurrent.LSTMTimeStep({ inputSize 1, hiddenLayers [20, 20], outputSize 1 }), trained on
//     windows of T+1 values (it predicts each next value, MSE).
// Its update is not Adam: brain.js's recurrent nets use an RMSProp-style step with per-element
// clipping (clipval 5, set here); there is no global-norm clip.
import { createRequire } from 'node:module';
import { charBatch, seriesBatch } from '../workloads.mjs';
import { report, runMain, timeRuns } from './harness.mjs';

const require = createRequire(import.meta.url);
const brain = require('brain.js');
const version = require('brain.js/package.json').version;

function charNet(w) {
  const alphabet = Array.from({ length: w.vocab }, (_, i) => String.fromCharCode(40 + i)).join('');
  const dataFormatter = new brain.utilities.DataFormatter([alphabet]);
  const size = dataFormatter.characters.length;
  const Net = w.cell === 'gru' ? brain.recurrent.GRU : brain.recurrent.LSTM;
  const net = new Net({ hiddenLayers: Array(w.layers).fill(w.hidden), dataFormatter, inputSize: size, inputRange: size, outputSize: size, clipval: 5 });
  net.initialize();
  return { net, alphabet };
}

runMain(async ({ workload: w, plan }) => {
  let timing;
  let how;
  if (w.kind === 'train-char') {
    const { net } = charNet(w);
    const ids = Array.from(charBatch(w).inputs.subarray(0, w.steps));
    timing = await timeRuns(async () => net.trainPattern(ids), plan);
    how = `recurrent.${w.cell === 'gru' ? 'GRU' : 'LSTM'} trainPattern, one sequence of T=${w.steps}; RMSProp-style update, per-element clip 5`;
  } else if (w.kind === 'generate') {
    const { net, alphabet } = charNet(w);
    const chars = plan.generateChars;
    net.options.maxPredictionLength = chars;
    net.trainPattern(Array.from(charBatch(w).inputs.subarray(0, 50))); // run() needs the equations a training pass binds
    timing = await timeRuns(async () => {
      let drawn = 0;
      while (drawn < chars) drawn += net.run(alphabet[5], true, w.temperature).length + 1; // +1: the end token it drew
    }, plan, (ms) => (ms * 1000) / chars);
    how = `run(prime, sample, temperature), repeated until ${chars} characters are drawn (stops at its end token)`;
  } else {
    const net = new brain.recurrent.LSTMTimeStep({ inputSize: w.input, hiddenLayers: Array(w.layers).fill(w.hidden), outputSize: 1, clipval: 5 });
    const data = seriesBatch(w);
    const window = [...data.inputs.subarray(0, w.steps), data.targets[0]];
    net.train([window], { iterations: 1 }); // sizes the net and formats the data
    const formatted = net.formatData([window])[0];
    timing = await timeRuns(async () => net.trainPattern(formatted), plan);
    how = `recurrent.LSTMTimeStep trainPattern, one window of T+1=${w.steps + 1} values (predicts every next value)`;
  }
  report({ ...timing, perSequence: w.kind !== 'generate', how, version: `brain.js ${version}`, threads: 1, precision: 'float32 (Float32Array matrices)' });
});
