// A whole char-model step against PyTorch (float64): embedding -> 2-layer LSTM -> linear ->
// weighted mean softmax cross-entropy, zero initial state.
import { describe, expect, it } from 'vitest';
import { Model } from '../lib/index.js';
import { f64, hasGolden, loadGolden, relErr } from './helpers/numeric.js';

const available = hasGolden('char_model_step');
if (!available) console.warn('skipping char_model_step: ../shared/golden is absent');

describe.skipIf(!available)('char model step vs PyTorch', () => {
  for (const [dtype, tol] of [['float64', 1e-10], ['float32', 1e-5]] as const) {
    it(`${dtype}: logits, loss and every gradient within ${tol}`, async () => {
      const g = loadGolden('char_model_step');
      const { vocab, embedding, hidden_size: H, layers, batch: B, steps: T } = g.config;
      const model = Model.create({
        input: { type: 'embedding', vocabSize: vocab, dim: embedding },
        layers: Array.from({ length: layers }, () => ({ cell: 'lstm' as const, units: H })),
        dense: [{ units: vocab }],
        dtype,
      });
      for (const [name, tensor] of Object.entries(g.params)) model.setParam(name, f64(tensor as never));
      const batch = {
        inputs: Int32Array.from(g.inputs.tokens.data),
        targets: Int32Array.from(g.inputs.targets.data),
        weights: f64(g.inputs.weights),
        batchSize: B,
        steps: T,
      };
      expect(relErr(await model.predict(batch), f64(g.outputs.logits))).toBeLessThan(tol);
      // lr 0 and no clipping: the step computes gradients and leaves the weights as they were.
      const r = await model.trainStep(batch, { learningRate: 0, clipNorm: 0 });
      expect(Math.abs(r.loss - g.outputs.loss) / g.outputs.loss).toBeLessThan(tol);
      const names = Object.keys(g.grads);
      expect(names.length).toBe(model.params().length);
      for (const name of names) expect(relErr(model.getGrad(name), f64(g.grads[name])), name).toBeLessThan(tol);
    });
  }
});
