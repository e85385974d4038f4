// tfjs 4.22 with the backend named in options.backend: 'cpu' (plain JS), 'wasm' (SIMD) or 'node'
// (tfjs-node, when it installed). Settings matched to fusedrnn: sigmoid recurrent activation (tfjs's
// default is hardSigmoid), glorot-uniform input weights, orthogonal recurrent weights, forget bias 1
// (unitForgetBias), one-hot input, global-norm clip 5 done by hand (tfjs optimizers have no
// clipnorm), Adam 1e-3, fp32.
import { createRequire } from 'node:module';
import { CLIP_NORM, LEARNING_RATE, charBatch, drawFromLogits, seededRandom, seriesBatch } from '../workloads.mjs';
import { report, runMain, timeRuns, unavailable } from './harness.mjs';

const require = createRequire(import.meta.url);

async function loadTf(backend) {
  if (backend === 'node') {
    try {
      return { tf: require('@tensorflow/tfjs-node'), threads: 'libtensorflow default' };
    } catch (err) {
      // bench/package.json leaves it out: npm ci would fail on its install script.
      const why = String(err?.message ?? err).split('\n')[0];
      unavailable(`not installed: its install script downloads libtensorflow from outside the npm registry (${why})`);
    }
  }
  const tf = require('@tensorflow/tfjs');
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) unavailable(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  // The wasm backend runs single-threaded in Node (no SharedArrayBuffer workers are set up).
  return { tf, threads: 1 };
}

function recurrentLayer(tf, w, extra) {
  const common = {
    units: w.hidden,
    recurrentActivation: 'sigmoid',
    kernelInitializer: 'glorotUniform',
    recurrentInitializer: 'zeros', // replaced by orthogonalRows() below
    ...extra,
  };
  // tfjs's GRU applies the reset gate before the recurrent product only (resetAfter: true throws);
  // fusedrnn and PyTorch apply it after: the same matrix sizes, so the same arithmetic cost.
  return w.cell === 'gru' ? tf.layers.gru(common) : tf.layers.lstm({ ...common, unitForgetBias: true });
}

/**
 * Keras's orthogonal initialiser for a [rows, cols] kernel (rows <= cols): orthonormal rows, from
 * Gram-Schmidt on a normal draw. tfjs's own runs a QR that takes minutes on its cpu backend at
 * these sizes (it warns so), which would be measured as part of nothing but would stall the bench.
 */
function orthogonalRows(rows, cols, rand) {
  const m = new Float64Array(rows * cols);
  for (let i = 0; i < m.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())), a = 2 * Math.PI * rand();
    m[i] = r * Math.cos(a);
    if (i + 1 < m.length) m[i + 1] = r * Math.sin(a);
  }
  for (let i = 0; i < rows; i++) {
    const row = m.subarray(i * cols, (i + 1) * cols);
    for (let j = 0; j < i; j++) {
      const prev = m.subarray(j * cols, (j + 1) * cols);
      let dot = 0;
      for (let k = 0; k < cols; k++) dot += row[k] * prev[k];
      for (let k = 0; k < cols; k++) row[k] -= dot * prev[k];
    }
    let norm = 0;
    for (let k = 0; k < cols; k++) norm += row[k] * row[k];
    norm = Math.sqrt(norm);
    for (let k = 0; k < cols; k++) row[k] /= norm;
  }
  return Float32Array.from(m);
}

/** The stack of recurrent layers plus the dense head; `batchInputShape` fixes batch 1 for generation. */
function buildModel(tf, w, featureSize, { returnLast = false, stateful = false } = {}) {
  const model = tf.sequential();
  for (let l = 0; l < w.layers; l++) {
    const shape = stateful ? { batchInputShape: [1, 1, featureSize] } : { inputShape: [null, featureSize] };
    const last = returnLast && l === w.layers - 1;
    model.add(recurrentLayer(tf, w, { returnSequences: !last, stateful, ...(l === 0 ? shape : {}) }));
  }
  model.add(tf.layers.dense({ units: w.kind === 'train-series' ? 1 : w.vocab, kernelInitializer: 'glorotUniform' }));
  const rand = seededRandom(11);
  for (const layer of model.layers.slice(0, w.layers)) {
    const [kernel, recurrent, bias] = layer.getWeights(); // recurrent: [H, gates*H]
    const [rows, cols] = recurrent.shape;
    layer.setWeights([kernel, tf.tensor2d(orthogonalRows(rows, cols, rand), [rows, cols]), bias]);
  }
  return model;
}

/** One step: loss and gradients of every trainable variable (the model's), global-norm clip, Adam. */
function trainStepFn(tf, lossOf) {
  const optimizer = tf.train.adam(LEARNING_RATE, 0.9, 0.999, 1e-8); // tfjs's default epsilon is 1e-7
  return async () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossOf);
      const names = Object.keys(grads);
      const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
      const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(CLIP_NORM), tf.add(norm, 1e-6)));
      const clipped = {};
      for (const n of names) clipped[n] = tf.mul(grads[n], scale);
      optimizer.applyGradients(clipped);
      return value;
    });
    await loss.data(); // the step is done when its loss has been read back
    loss.dispose();
  };
}

runMain(async ({ workload: w, plan, options }) => {
  const { tf, threads } = await loadTf(options.backend);
  let timing;
  if (w.kind === 'train-char') {
    const model = buildModel(tf, w, w.vocab);
    const data = charBatch(w);
    const x = tf.oneHot(tf.tensor2d(data.inputs, [w.batch, w.steps], 'int32'), w.vocab).toFloat();
    const y = tf.oneHot(tf.tensor2d(data.targets, [w.batch, w.steps], 'int32'), w.vocab).toFloat();
    // softmaxCrossEntropy's default reduction is the mean over all B*T rows.
    timing = await timeRuns(trainStepFn(tf, () => tf.losses.softmaxCrossEntropy(y, model.apply(x))), plan);
  } else if (w.kind === 'train-series') {
    const model = buildModel(tf, w, w.input, { returnLast: true });
    const data = seriesBatch(w);
    const x = tf.tensor3d(data.inputs, [w.batch, w.steps, w.input]);
    const y = tf.tensor2d(data.targets, [w.batch, 1]);
    timing = await timeRuns(trainStepFn(tf, () => tf.losses.meanSquaredError(y, model.apply(x))), plan);
  } else {
    // Stateful batch-1 layers carry h/c between calls; one character per predict().
    const model = buildModel(tf, w, w.vocab, { stateful: true });
    const rand = seededRandom(3);
    const chars = plan.generateChars;
    const generate = async () => {
      model.resetStates();
      let token = 5;
      for (let i = 0; i < chars; i++) {
        const logits = tf.tidy(() => model.predict(tf.oneHot(tf.tensor1d([token], 'int32'), w.vocab).toFloat().reshape([1, 1, w.vocab])));
        const values = await logits.data();
        logits.dispose();
        token = drawFromLogits(values, w.temperature, rand);
      }
    };
    timing = await timeRuns(generate, plan, (ms) => (ms * 1000) / chars);
  }
  const wasmVersion = options.backend === 'wasm' ? ` + tfjs-backend-wasm ${require('@tensorflow/tfjs-backend-wasm/package.json').version}` : '';
  if (w.cell === 'gru') timing.how = 'GRU with the reset gate before the recurrent product (the only form tfjs has)';
  report({ ...timing, version: `tfjs ${tf.version.tfjs}${wasmVersion} (${tf.getBackend()})`, threads, precision: 'float32' });
});
