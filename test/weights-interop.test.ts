// saveWeights/loadWeights against stock PyTorch modules (Debian's python3-torch): the file loads
// into nn.Embedding + one multi-layer nn.LSTM/GRU/RNN + nn.Linear with load_state_dict(strict=True)
// under the prefixes embedding. / rnn. / dense., and gives our logits; a state dict PyTorch saved
// under those prefixes loads into the matching model and gives PyTorch's logits. float64 models,
// so the comparison is tight. Skipped, with the reason printed, where no interpreter imports torch.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model, type ModelConfig, loadWeights, saveWeights } from '../lib/index.js';
import { maxAbsDiff, randInts, rng } from './helpers/numeric.js';
import { findTorchPython, runTorchJobs } from './helpers/torch.js';

const { python, reason } = findTorchPython();
if (!python) console.warn(`[weights-interop.test] SKIPPED: ${reason}`);

const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-weights-torch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const V = 9;
const configs: Record<string, ModelConfig> = {
  'two-layer lstm, embedding, two dense layers': {
    input: { type: 'embedding', vocabSize: V, dim: 5 },
    layers: [{ cell: 'lstm', units: 6 }, { cell: 'lstm', units: 6 }],
    dense: [{ units: 7, activation: 'tanh' }, { units: V }],
  },
  'bidirectional two-layer gru, one-hot': {
    input: { type: 'oneHot', vocabSize: V },
    layers: [{ cell: 'gru', units: 4, bidirectional: true }, { cell: 'gru', units: 4, bidirectional: true }],
    dense: [{ units: V }],
  },
  'relu rnn': {
    input: { type: 'embedding', vocabSize: V, dim: 3 },
    layers: [{ cell: 'rnn', units: 5, activation: 'relu' }],
    dense: [{ units: V }],
  },
};

describe.skipIf(!python)('weights files and stock PyTorch modules', () => {
  const B = 2;
  const T = 5;
  const r = rng(31);
  const inputs = randInts(B * T, V, r);
  const tokens = [0, 1].map((b) => [...inputs.subarray(b * T, (b + 1) * T)]);
  const batch = { inputs, batchSize: B, steps: T };
  const names = Object.keys(configs);
  const ours = new Map<string, { saved: Float64Array; loaded: Float64Array; before: Float64Array }>();
  let torch: number[][] = [];

  beforeAll(async () => {
    const jobs: object[] = [];
    const theirsPath = (i: number) => join(dir, `torch-${i}.safetensors`);
    for (const [i, name] of names.entries()) {
      const config = { ...configs[name], dtype: 'float64' as const, seed: 40 + i };
      const model = Model.create(config);
      // A few steps so the weights are not just their initial values.
      for (let k = 0; k < 3; k++) {
        await model.trainStep({ inputs: randInts(B * T, V, r), targets: randInts(B * T, V, r), batchSize: B, steps: T }, { learningRate: 0.05 });
      }
      const path = join(dir, `ours-${i}.safetensors`);
      await saveWeights(model, path);
      jobs.push({ mode: 'strict-load', path, config, tokens }, { mode: 'strict-save', path: theirsPath(i), config, seed: 7 + i, tokens });
      ours.set(name, { saved: await model.predict(batch), loaded: new Float64Array(), before: new Float64Array() });
      model.dispose();
    }
    const jobsPath = join(dir, 'jobs.json');
    writeFileSync(jobsPath, JSON.stringify(jobs));
    torch = runTorchJobs<number[]>(python!, jobsPath);
    for (const [i, name] of names.entries()) {
      const model = Model.create({ ...configs[name], dtype: 'float64', seed: 90 });
      const before = await model.predict(batch);
      await loadWeights(model, theirsPath(i));
      ours.set(name, { ...ours.get(name)!, loaded: await model.predict(batch), before });
      model.dispose();
    }
  }, 300_000);

  for (const [i, name] of names.entries()) {
    it(`PyTorch modules load our file strictly and give our logits (${name})`, () => {
      const theirs = torch[2 * i];
      expect(maxAbsDiff(ours.get(name)!.saved, theirs)).toBeLessThan(1e-12);
      expect(Math.max(...theirs.map(Math.abs))).toBeGreaterThan(0.01);
    });

    it(`PyTorch's state dict loads into our model and gives its logits (${name})`, () => {
      const { loaded, before } = ours.get(name)!;
      expect(maxAbsDiff(loaded, torch[2 * i + 1])).toBeLessThan(1e-12);
      expect(maxAbsDiff(loaded, before)).toBeGreaterThan(1e-3);
    });
  }
});
