// Sampled softmax: its gradient (averaged over steps, so over draws) approaches the full
// softmax's as the number of samples grows; training with it on a word-level task reaches a
// full-softmax held-out loss within 5% of training with the full softmax; the draws follow the
// seed; bad options are errors.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Model, WordVocabulary, tokenizeWords, type ModelConfig } from '../lib/index.js';
import { randInts, relErr, rng, sharedDir } from './helpers/numeric.js';

const V = 40;
const base: ModelConfig = {
  input: { type: 'embedding', vocabSize: V, dim: 4 },
  layers: [{ cell: 'gru', units: 6 }],
  dense: [{ units: V }],
  seed: 3,
  dtype: 'float64',
};

function allGrads(model: Model): Float64Array {
  const parts = model.params().map((p) => model.getGrad(p.name));
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

describe('sampled softmax', () => {
  it('its gradient approaches the full softmax gradient as the samples grow (8, 64, 1024)', () => {
    const r = rng(12);
    const batch = { inputs: randInts(4 * 5, V, r), targets: randInts(4 * 5, V, r), batchSize: 4, steps: 5 };
    const full = Model.create(base);
    full.trainStepSync(batch, { learningRate: 0, clipNorm: 0 });
    const exact = allGrads(full);
    const errors = [8, 64, 1024].map((samples) => {
      const model = Model.create({ ...base, sampledSoftmax: { samples } });
      const mean = new Float64Array(exact.length);
      const draws = 32; // each step draws new samples; lr 0 keeps the weights
      for (let i = 0; i < draws; i++) {
        model.trainStepSync(batch, { learningRate: 0, clipNorm: 0 });
        allGrads(model).forEach((g, j) => (mean[j] += g / draws));
      }
      model.dispose();
      return relErr(mean, exact);
    });
    console.log(`sampled softmax gradient error vs full: ${errors.map((e) => e.toExponential(2)).join(', ')}`);
    expect(errors[1]).toBeLessThan(errors[0]);
    expect(errors[2]).toBeLessThan(errors[1]);
    expect(errors[2]).toBeLessThan(0.05);
    full.dispose();
  });

  it('draws follow the seed and the step, and evaluate/predict use the full softmax', async () => {
    const r = rng(13);
    const batch = { inputs: randInts(12, V, r), targets: randInts(12, V, r), batchSize: 3, steps: 4 };
    const cfg = { ...base, dtype: 'float32' as const, sampledSoftmax: { samples: 5 } };
    const [a, b] = [Model.create(cfg), Model.create(cfg)];
    for (let i = 0; i < 3; i++) expect(a.trainStepSync(batch).loss).toBe(b.trainStepSync(batch).loss);
    const twin = Model.create({ ...cfg, sampledSoftmax: undefined });
    twin.importTrainingState(a.exportTrainingState());
    expect(Array.from(await a.predict(batch))).toEqual(Array.from(await twin.predict(batch)));
    expect((await a.evaluate(batch)).loss).toBe((await twin.evaluate(batch)).loss);
    [a, b, twin].forEach((m) => m.dispose());
  });

  it('rejects options it cannot honour', () => {
    expect(() => Model.create({ ...base, sampledSoftmax: { samples: 0 } })).toThrow(/config\.sampledSoftmax\.samples/);
    expect(() => Model.create({ ...base, sampledSoftmax: { sample: 3 } as never })).toThrow(/sample/);
    expect(() => Model.create({ ...base, loss: 'mse', sampledSoftmax: { samples: 3 } })).toThrow(/softmaxCrossEntropy/);
    expect(() => Model.create({ ...base, dense: [{ units: V, activation: 'tanh' }], sampledSoftmax: { samples: 3 } })).toThrow(/linear/);
  });

  const shakespeare = resolve(sharedDir, 'data', 'tinyshakespeare.txt');
  it.skipIf(!existsSync(shakespeare))('a word-level model trained with 200 samples (of ~2100 words) gets within 5% of the full softmax', async () => {
    const lines = readFileSync(shakespeare, 'utf8').split('\n').slice(0, 12_000);
    const vocab = WordVocabulary.fromCorpus(lines, { minCount: 3 });
    const ids = Int32Array.from(lines.flatMap((l) => Array.from(vocab.encode(l, { end: '<eos>' }))));
    const split = Math.floor(ids.length * 0.9);
    const [B, T] = [32, 20];
    const windows = (from: number, to: number, seed: number, n: number) => {
      const r = rng(seed);
      return Array.from({ length: n }, () => {
        const inputs = new Int32Array(B * T);
        const targets = new Int32Array(B * T);
        for (let b = 0; b < B; b++) {
          const at = from + Math.floor(r() * (to - from - T - 1));
          inputs.set(ids.subarray(at, at + T), b * T);
          targets.set(ids.subarray(at + 1, at + T + 1), b * T);
        }
        return { inputs, targets, batchSize: B, steps: T };
      });
    };
    const train = windows(0, split, 1, 400);
    const heldOut = windows(split, ids.length, 2, 20);
    const config: ModelConfig = {
      input: { type: 'embedding', vocabSize: vocab.size, dim: 32 },
      layers: [{ cell: 'lstm', units: 64 }],
      dense: [{ units: vocab.size }],
      seed: 5,
    };
    const results: Record<string, number> = {};
    for (const [name, extra] of [['full', {}], ['sampled', { sampledSoftmax: { samples: 200 } }]] as const) {
      const model = Model.create({ ...config, ...extra });
      const started = Date.now();
      for (const b of train) model.trainStepSync(b, { learningRate: 0.01 });
      let loss = 0;
      for (const b of heldOut) loss += (await model.evaluate(b)).loss / heldOut.length;
      results[name] = loss;
      results[`${name}Seconds`] = (Date.now() - started) / 1000;
      model.dispose();
    }
    console.log(`word-level (V = ${vocab.size}, 400 steps of 32x20): ${JSON.stringify(results)}`);
    expect(results.full).toBeLessThan(Math.log(vocab.size) - 1); // both actually learned
    expect(results.sampled).toBeLessThan(results.full * 1.05);
  });
});
