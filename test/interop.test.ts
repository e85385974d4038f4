// PyTorch interop both ways, against Debian's python3-torch (test/interop/torch_interop.py):
// a checkpoint's weights loaded into torch.nn.LSTM/GRU/RNN + Embedding/Linear give fusedrnn's
// logits within 1e-5, and a PyTorch state dict saved as safetensors loads into fusedrnn with the
// same logits. Skipped, with the reason printed, where no interpreter imports torch.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model, type ModelConfig, loadStateDict, saveCheckpoint } from '../lib/index.js';
import { maxAbsDiff, randInts, rng } from './helpers/numeric.js';
import { findTorchPython, runTorchJobs } from './helpers/torch.js';

const { python, reason } = findTorchPython();
if (!python) console.warn(`[interop.test] SKIPPED: ${reason}`);

const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-torch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const V = 11;
const configs: Record<string, ModelConfig> = {
  'lstm x2, embedding, tanh + linear head': {
    input: { type: 'embedding', vocabSize: V, dim: 5 },
    layers: [{ cell: 'lstm', units: 7 }, { cell: 'lstm', units: 9 }],
    dense: [{ units: 6, activation: 'tanh' }, { units: V }],
    seed: 3,
  },
  'bidirectional gru, one-hot': {
    input: { type: 'oneHot', vocabSize: V },
    layers: [{ cell: 'gru', units: 5, bidirectional: true }, { cell: 'gru', units: 3 }],
    dense: [{ units: V }],
    seed: 4,
  },
  'relu rnn + lstm': {
    input: { type: 'embedding', vocabSize: V, dim: 4 },
    layers: [{ cell: 'rnn', units: 6, activation: 'relu' }, { cell: 'lstm', units: 1 }],
    dense: [{ units: V }],
    seed: 5,
  },
};

type Job = { mode: 'logits'; path: string; config: ModelConfig; tokens: number[][] } | { mode: 'export'; path: string; config: object; seed: number };

function runTorch(jobs: Job[]): (number[] | null)[] {
  const jobsPath = join(dir, `jobs-${jobs[0].mode}.json`);
  writeFileSync(jobsPath, JSON.stringify(jobs));
  return runTorchJobs(python!, jobsPath);
}

describe.skipIf(!python)('PyTorch interop', () => {
  const B = 2;
  const T = 6;
  const r = rng(77);
  const inputs = randInts(B * T, V, r);
  const tokens = [0, 1].map((b) => [...inputs.subarray(b * T, (b + 1) * T)]);
  const names = Object.keys(configs);
  const ours = new Map<string, { exported: Float64Array; imported: Float64Array; before: Float64Array }>();
  let torchResults: (number[] | null)[] = [];
  const otherShape = join(dir, 'other.safetensors');

  // Two torch processes for the whole file: exports first, then every logits job.
  beforeAll(async () => {
    const exports: Job[] = names.map((name, i) => ({ mode: 'export', path: join(dir, `torch-${i}.safetensors`), config: configs[name], seed: 123 }));
    const relu = configs['relu rnn + lstm'];
    exports.push({ mode: 'export', path: otherShape, config: { ...relu, layers: [{ cell: 'rnn', units: 8, activation: 'relu' }, { cell: 'lstm', units: 1 }] }, seed: 1 });
    runTorch(exports);
    const logitsJobs: Job[] = [];
    for (const [i, name] of names.entries()) {
      const config = configs[name];
      const model = Model.create(config);
      // Train a little so the comparison is not about initial values only.
      for (let k = 0; k < 3; k++) {
        model.trainStepSync({ inputs: randInts(B * T, V, r), targets: randInts(B * T, V, r), batchSize: B, steps: T }, { learningRate: 0.05 });
      }
      const path = join(dir, `ours-${i}.safetensors`);
      await saveCheckpoint(path, model);
      const exported = await model.predict({ inputs, batchSize: B, steps: T });
      const imported64 = Model.create({ ...config, dtype: 'float64' });
      const before = await imported64.predict({ inputs, batchSize: B, steps: T });
      await loadStateDict(imported64, join(dir, `torch-${i}.safetensors`));
      ours.set(name, { exported, imported: await imported64.predict({ inputs, batchSize: B, steps: T }), before });
      model.dispose();
      imported64.dispose();
      logitsJobs.push({ mode: 'logits', path, config, tokens }, { mode: 'logits', path: join(dir, `torch-${i}.safetensors`), config, tokens });
    }
    torchResults = runTorch(logitsJobs);
  }, 300_000);

  for (const [i, name] of Object.keys(configs).entries()) {
    it(`a checkpoint's weights give the same logits in torch (${name})`, () => {
      const theirs = torchResults[2 * i]!;
      expect(maxAbsDiff(ours.get(name)!.exported, theirs)).toBeLessThan(1e-5);
      expect(Math.max(...theirs.map(Math.abs))).toBeGreaterThan(0.01);
    });

    it(`a PyTorch state dict loads into fusedrnn (${name})`, () => {
      const { imported, before } = ours.get(name)!;
      expect(maxAbsDiff(imported, torchResults[2 * i + 1]!)).toBeLessThan(1e-5);
      expect(maxAbsDiff(imported, before)).toBeGreaterThan(1e-3);
    });
  }

  it('rejects a state dict for another shape and leaves the model unchanged', async () => {
    const model = Model.create(configs['relu rnn + lstm']);
    const before = model.getParam('rnn.weight_hh_l0');
    await expect(loadStateDict(model, otherShape)).rejects.toThrow(/rnn.weight_ih_l0 has shape \[8,4\], the model needs \[6,4\]/);
    expect(model.getParam('rnn.weight_hh_l0')).toEqual(before);
    model.dispose();
  });
});
