// Conditioned models (the image-captioning pattern): a feature vector per sequence sets every
// recurrent layer's initial state through tanh(W·c + b), trained end to end. The gradients are
// held to finite differences in model-gradcheck.test.ts; here: it learns captions that only the
// condition can tell apart, generation/beam search/streaming start from it, checkpoints keep it,
// and bad calls are errors that leave the model usable.
import { describe, expect, it } from 'vitest';
import { Model, beamSearch, decodeCheckpoint, encodeCheckpoint, type ModelConfig } from '../lib/index.js';
import { randn, rng } from './helpers/numeric.js';

const GO = 0;
const V = 8;
const C = 4;
// Three "images" (prototype feature vectors) and their captions: the same first word, so the
// model cannot caption from the input tokens alone.
const captions = [
  [1, 2, 3, 4, 5, 7],
  [1, 3, 5, 2, 4, 7],
  [1, 5, 4, 3, 2, 7],
];
const random = rng(21);
const prototypes = captions.map(() => randn(C, random));

const config: ModelConfig = {
  input: { type: 'embedding', vocabSize: V, dim: 6 },
  layers: [{ cell: 'lstm', units: 24 }],
  dense: [{ units: V }],
  conditionSize: C,
  seed: 5,
};

function captionBatch(rows: number, r: () => number) {
  const T = captions[0].length;
  const inputs = new Int32Array(rows * T);
  const targets = new Int32Array(rows * T);
  const condition = new Float64Array(rows * C);
  for (let b = 0; b < rows; b++) {
    const k = Math.floor(r() * captions.length);
    const cap = captions[k];
    inputs.set([GO, ...cap.slice(0, -1)], b * T); // teacher forcing: the caption shifted right
    targets.set(cap, b * T);
    condition.set(prototypes[k].map((x) => x + 0.05 * (r() - 0.5)), b * C);
  }
  return { inputs, targets, condition, batchSize: rows, steps: T };
}

async function trained(): Promise<Model> {
  const model = Model.create(config);
  const r = rng(8);
  for (let i = 0; i < 250; i++) model.trainStepSync(captionBatch(16, r), { learningRate: 0.02 });
  return model;
}

describe('conditioned models', () => {
  it('learn captions that only the condition tells apart; generate and beamSearch start from it', async () => {
    const model = await trained();
    const evalBatch = captionBatch(30, rng(99));
    expect((await model.evaluate(evalBatch)).accuracy).toBe(1);
    for (const [k, cap] of captions.entries()) {
      const tokens = await model.generate(Int32Array.from([GO]), cap.length, { greedy: true, condition: prototypes[k] });
      expect(Array.from(tokens), `caption ${k}`).toEqual(cap);
      const [best] = await beamSearch(model, Int32Array.from([GO]), { maxLength: 10, beamWidth: 3, eos: 7, condition: prototypes[k] });
      expect(Array.from(best.tokens)).toEqual(cap);
      expect(best.finished).toBe(true);
    }
    // Rows of one generate call each get their own condition.
    const both = await model.generate([Int32Array.from([GO]), Int32Array.from([GO])], 6, {
      greedy: true,
      condition: Float64Array.from([...prototypes[2], ...prototypes[0]]),
    });
    expect(Array.from(both)).toEqual([...captions[2], ...captions[0]]);
    model.dispose();
  });

  it('streams in chunks exactly as one call, round-trips through a checkpoint, and lets a carried state win', async () => {
    const model = await trained();
    const condition = prototypes[1];
    const whole = await model.generate(Int32Array.from([GO]), 6, { seed: 3, temperature: 1.5, condition });
    const first = await model.generateChunk(Int32Array.from([GO]), 2, { seed: 3, temperature: 1.5, condition }, null);
    const rest = await model.generateChunk(first.tokens.subarray(1), 4, { seed: 3, temperature: 1.5 }, first.state);
    expect([...first.tokens, ...rest.tokens]).toEqual(Array.from(whole));

    const loaded = decodeCheckpoint(encodeCheckpoint(model), 'memory').model;
    expect(loaded.params().map((p) => p.name)).toEqual(expect.arrayContaining(['condition.weight_l0', 'condition.bias_l0']));
    const batch = captionBatch(5, rng(4));
    expect(Array.from(await loaded.predict(batch))).toEqual(Array.from(await model.predict(batch)));

    // Continuing from the carried state needs no condition; the condition would not change it.
    await model.predict(batch, { carryState: true });
    const { condition: _dropped, ...next } = captionBatch(5, rng(5));
    const fromState = await model.predict(next, { useState: true });
    const withCondition = await model.predict({ ...next, condition: randn(5 * C, rng(6)) }, { useState: true });
    expect(Array.from(withCondition)).toEqual(Array.from(fromState));
    loaded.dispose();
    model.dispose();
  });

  it('rejects a missing, misplaced or malformed condition and stays usable', async () => {
    const model = Model.create(config);
    const batch = captionBatch(2, rng(1));
    const { condition: _c, ...bare } = batch;
    await expect(model.trainStep(bare)).rejects.toThrow(/batch\.condition is required/);
    await expect(model.evaluate({ ...batch, condition: new Float64Array(3) })).rejects.toThrow(/batch\.condition/);
    await expect(model.evaluate({ ...batch, condition: Float64Array.from({ length: 2 * C }, () => NaN) })).rejects.toThrow(/finite/);
    await expect(model.generate(Int32Array.from([GO]), 3, {})).rejects.toThrow(/options\.condition/);
    await expect(model.generate(Int32Array.from([GO]), 3, { condition: new Float64Array(C + 1) })).rejects.toThrow(/options\.condition/);
    expect(() => Model.create({ ...config, conditionSize: -1 })).toThrow(/config\.conditionSize/);
    const plain = Model.create({ ...config, conditionSize: undefined });
    await expect(plain.evaluate(batch)).rejects.toThrow(/conditionSize/);
    await expect(plain.generate(Int32Array.from([GO]), 2, { condition: prototypes[0] })).rejects.toThrow(/conditionSize/);
    expect((await model.trainStep(batch, { learningRate: 0.01 })).loss).toBeGreaterThan(0);
    expect((await plain.trainStep(bare, { learningRate: 0.01 })).loss).toBeGreaterThan(0);
    plain.dispose();
    model.dispose();
  });
});
