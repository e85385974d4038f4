// onnxruntime-node 1.30 (CPU provider) for W4, the inference workload: the W1 model's one-step graph
// (one-hot x [1,1,V], h0/c0 [L,1,H] -> logits, h, c), exported from PyTorch by runners/pytorch.py
// (torch.onnx.export) into options.modelPath. State is carried between calls; softmax with
// temperature and the draw happen in JS, as every peer's loop does per character.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { drawFromLogits, seededRandom } from '../workloads.mjs';
import { report, runMain, timeRuns, unavailable } from './harness.mjs';

const require = createRequire(import.meta.url);

runMain(async ({ workload: w, plan, options }) => {
  if (w.kind !== 'generate') unavailable('inference only: training workloads are not expressible');
  if (!options.modelPath || !existsSync(options.modelPath)) unavailable(`no exported model: ${options.exportReason ?? 'PyTorch export did not run'}`);
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (err) {
    unavailable(`onnxruntime-node does not load: ${String(err?.message ?? err).split('\n')[0]}`);
  }
  const threads = options.threads ?? 1;
  const session = await ort.InferenceSession.create(options.modelPath, { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const rand = seededRandom(3);
  const chars = plan.generateChars;
  const stateDims = [w.layers, 1, w.hidden];
  const oneHot = new Float32Array(w.vocab);
  const generate = async () => {
    let h = new ort.Tensor('float32', new Float32Array(w.layers * w.hidden), stateDims);
    let c = new ort.Tensor('float32', new Float32Array(w.layers * w.hidden), stateDims);
    let token = 5;
    for (let i = 0; i < chars; i++) {
      oneHot.fill(0);
      oneHot[token] = 1;
      const out = await session.run({ x: new ort.Tensor('float32', oneHot, [1, 1, w.vocab]), h0: h, c0: c });
      h = out.h;
      c = out.c;
      token = drawFromLogits(out.logits.data, w.temperature, rand);
    }
  };
  const timing = await timeRuns(generate, plan, (ms) => (ms * 1000) / chars);
  report({ ...timing, version: `onnxruntime-node ${require('onnxruntime-node/package.json').version} (model: ${options.exportedBy})`, threads, precision: 'float32' });
});
