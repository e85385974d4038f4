// Seq2Seq: the composite's gradients (float64) against central differences of its teacher-forced
// loss, for encoder and decoder parameters alike, so the encode -> stateGrad -> trainFromStateGrad
// chain is exact; then decoding and argument errors. Training quality: examples/translate.mjs.
import { describe, expect, it } from 'vitest';
import { Seq2Seq, decodeCheckpoint, encodeCheckpoint, fit, type Seq2SeqBatch } from '../lib/index.js';
import { numericParamGrad, randInts, relErr, rng } from './helpers/numeric.js';

const config = {
  sourceVocabSize: 5,
  targetVocabSize: 6,
  go: 1,
  eos: 2,
  embeddingDim: 3,
  layers: [{ cell: 'lstm' as const, units: 3 }, { cell: 'gru' as const, units: 2 }],
  seed: 7,
  dtype: 'float64' as const,
};

function batch(r: () => number): Seq2SeqBatch {
  return {
    source: randInts(2 * 4, 5, r),
    sourceSteps: 4,
    sourceLengths: Int32Array.from([4, 2]),
    target: randInts(2 * 3, 6, r),
    targetSteps: 3,
    targetLengths: Int32Array.from([3, 2]),
    batchSize: 2,
  };
}

describe('Seq2Seq', () => {
  for (const attention of [undefined, 'general', 'dot'] as const)
  it(`trains both halves with the exact gradient of the decoder loss (central differences)${attention ? `, ${attention} attention` : ''}`, async () => {
    const s2s = Seq2Seq.create({ ...config, attention });
    const b = batch(rng(3));
    await s2s.trainStep(b, { learningRate: 0, clipNorm: 0 });
    // Some encoder gradients are ~1e-4 here: a step of 1e-4 keeps rounding noise far below 1e-6.
    const h = 1e-4;
    for (const model of [s2s.encoder, s2s.decoder]) {
      for (const p of model.params()) {
        if (model === s2s.encoder && p.name.startsWith('dense')) continue; // the encoder's unused head
        const analytic = model.getGrad(p.name);
        const numeric = await numericParamGrad(model, p.name, async () => (await s2s.evaluate(b)).loss, h);
        const label = `${model === s2s.encoder ? 'encoder' : 'decoder'} ${p.name}`;
        // A gradient near zero (the 'general' score's W_a in a model this small: ~1e-9) is held
        // to an absolute bound instead: its relative error is the finite differences' rounding.
        if (Math.hypot(...numeric) > 1e-7) expect(relErr(analytic, numeric), label).toBeLessThan(1e-6);
        else expect(Math.max(...analytic.map((g, i) => Math.abs(g - numeric[i]))), label).toBeLessThan(1e-10);
      }
    }
    s2s.dispose();
  });

  it('translates deterministically from the encoded source, best first', async () => {
    const s2s = Seq2Seq.create({ ...config, dtype: 'float32' });
    const r = rng(4);
    for (let i = 0; i < 20; i++) await s2s.trainStep(batch(r), { learningRate: 0.05 });
    const source = Int32Array.from([1, 3, 2]);
    const a = await s2s.translate(source, { beamWidth: 3, results: 3, maxLength: 5 });
    const b = await s2s.translate(source, { beamWidth: 3, results: 3, maxLength: 5 });
    expect(a.map((x) => Array.from(x.tokens))).toEqual(b.map((x) => Array.from(x.tokens)));
    expect(a.length).toBeGreaterThan(0);
    for (let i = 1; i < a.length; i++) expect(a[i].score).toBeLessThanOrEqual(a[i - 1].score);
    for (const hyp of a) expect(hyp.tokens.length).toBeLessThanOrEqual(5);
    // A different source starts the decoder elsewhere.
    const other = await s2s.translate(Int32Array.from([4, 4, 4, 4]), { beamWidth: 1, maxLength: 5 });
    expect(other[0].logProb).not.toBeCloseTo(a[0].logProb, 6);
    // Each half round-trips through its own checkpoint; the rebuilt pair translates the same.
    const loaded = Seq2Seq.fromModels(
      { ...config, dtype: 'float32' },
      decodeCheckpoint(encodeCheckpoint(s2s.encoder), 'encoder').model,
      decodeCheckpoint(encodeCheckpoint(s2s.decoder), 'decoder').model,
    );
    const c = await loaded.translate(source, { beamWidth: 3, results: 3, maxLength: 5 });
    expect(c.map((x) => Array.from(x.tokens))).toEqual(a.map((x) => Array.from(x.tokens)));
    expect(() => Seq2Seq.fromModels({ ...config, dtype: 'float32' }, loaded.decoder, loaded.encoder)).toThrow(RangeError);
    loaded.dispose();
    s2s.dispose();
  });

  it('trains with fit: epochs, validation, early stopping that puts back the best epoch of both halves', async () => {
    const s2s = Seq2Seq.create({ ...config, dtype: 'float32', layers: [{ cell: 'gru', units: 16 }] });
    const r = rng(9);
    // Copy task: the target is the source (ids 3..4 in both vocabularies) followed by eos.
    const make = (n: number): Seq2SeqBatch[] =>
      Array.from({ length: n }, () => {
        const src = Int32Array.from({ length: 8 * 3 }, () => 3 + Math.floor(r() * 2));
        const tgt = new Int32Array(8 * 4);
        for (let b = 0; b < 8; b++) tgt.set([...src.subarray(b * 3, b * 3 + 3), config.eos], b * 4);
        return { source: src, sourceSteps: 3, target: tgt, targetSteps: 4, batchSize: 8 };
      });
    const train = make(12);
    const validation = make(3);
    const seen: number[] = [];
    const { history, stopped, bestEpoch } = await fit(s2s, train, {
      epochs: 6,
      learningRate: 0.05,
      validationData: validation,
      earlyStopping: { patience: 6 },
      progress: false,
      onEpochEnd: (log) => {
        seen.push(log.valLoss!);
      },
    });
    expect(history).toHaveLength(6);
    expect(stopped).toBe('completed');
    expect(history[5].loss).toBeLessThan(history[0].loss);
    expect(seen[bestEpoch!]).toBe(Math.min(...seen));
    expect(s2s.params().some((p) => p.name === 'encoder.rnn.weight_hh_l0')).toBe(true);
    expect(s2s.getParam('decoder.dense.bias')).toHaveLength(6);
    expect(() => s2s.getParam('rnn.weight_hh_l0')).toThrow(/encoder\.|decoder\./);
    s2s.dispose();
  });

  it('rejects bad configs, batches and sources with errors naming them', async () => {
    expect(() => Seq2Seq.create({ ...config, go: 6 })).toThrow(/config\.go/);
    expect(() => Seq2Seq.create({ ...config, layers: [{ cell: 'gru', units: 2, bidirectional: true }] })).toThrow(/unidirectional/);
    expect(() => Seq2Seq.create({ ...config, extra: 1 } as never)).toThrow(/extra/);
    const s2s = Seq2Seq.create(config);
    const b = batch(rng(5));
    await expect(s2s.trainStep({ ...b, target: new Int32Array(5) })).rejects.toThrow(/batch\.target/);
    await expect(s2s.trainStep({ ...b, source: Int32Array.from([9, 9, 9, 9, 9, 9, 9, 9]) })).rejects.toThrow(RangeError);
    await expect(s2s.translate(new Int32Array(0))).rejects.toThrow(/source/);
    await expect(s2s.translate(Int32Array.from([7]))).rejects.toThrow(RangeError);
    expect((await s2s.trainStep(b, { learningRate: 0.01 })).loss).toBeGreaterThan(0);
    s2s.dispose();
  });
});
