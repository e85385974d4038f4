// Checkpoints of the model shapes the encoder–decoder work added (attention in both scores,
// sampled softmax, conditioned): the config and every output survive the round trip, and beam
// search from the loaded model decodes the same tokens.
import { describe, expect, it } from 'vitest';
import { Model, beamSearch, decodeCheckpoint, encodeCheckpoint } from '../lib/index.js';
import { randInts, randn, rng } from './helpers/numeric.js';

describe('checkpoints of the new model shapes', () => {
  it('attention, sampled-softmax and conditioned models round-trip with identical outputs and decodes', async () => {
    const r = rng(31);
    const V = 6;
    const memory = randn(2 * 3 * 4, r);
    const cases = [
      { attention: { memorySize: 4 } },
      { attention: { memorySize: 5, score: 'dot' as const } },
      { sampledSoftmax: { samples: 3 } },
      { conditionSize: 2 },
    ];
    for (const extra of cases) {
      const model = Model.create({
        input: { type: 'embedding', vocabSize: V, dim: 3 },
        layers: [{ cell: 'lstm', units: 5 }],
        dense: [{ units: V }],
        seed: 4,
        ...extra,
      });
      const batch = {
        inputs: randInts(2 * 3, V, r),
        targets: randInts(2 * 3, V, r),
        batchSize: 2,
        steps: 3,
        ...(extra.attention ? { memory: extra.attention.memorySize === 4 ? memory : randn(2 * 3 * 5, r), memorySteps: 3 } : {}),
        ...('conditionSize' in extra ? { condition: randn(4, r) } : {}),
      };
      for (let i = 0; i < 3; i++) await model.trainStep(batch, { learningRate: 0.05 });
      const loaded = decodeCheckpoint(encodeCheckpoint(model), 'memory').model;
      expect(loaded.config).toEqual(model.config);
      expect(Array.from(await loaded.predict(batch)), JSON.stringify(extra)).toEqual(Array.from(await model.predict(batch)));
      const decodeOptions = {
        maxLength: 4,
        beamWidth: 2,
        ...('attention' in extra ? { memory: { values: batch.memory!.subarray(0, batch.memory!.length / 2), steps: 3 } } : {}),
        ...('conditionSize' in extra ? { condition: batch.condition!.subarray(0, 2) } : {}),
      };
      const [a, b] = await Promise.all([beamSearch(model, Int32Array.from([1]), decodeOptions), beamSearch(loaded, Int32Array.from([1]), decodeOptions)]);
      expect(Array.from(b[0].tokens)).toEqual(Array.from(a[0].tokens));
      model.dispose();
      loaded.dispose();
    }
  });
});
