// Inference keeps the fp32 weights packed across calls (native/cpu/weight_cache.h). What must
// hold: the packed products match the fp64 reference under every instruction-set variant, and
// no call ever sees a stale copy: after setParam, a training step, an imported training state or
// a switch of variant, a model that had packed its weights answers exactly like a fresh model
// that never did.
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/native.js';
import { Model, type ModelConfig } from '../lib/index.js';
import { fp32IsaNames } from './helpers/isa.js';
import { randInts, randn, relErr, rng } from './helpers/numeric.js';

const isa = loadNative().cpuIsa;
const original = isa.active();
afterAll(() => {
  isa.set(original);
});

const V = 23;
// The first layer's 4·151·151 recurrent weights pass the matrix-vector split over the pool; 151
// and 67 are off every panel width.
const config = (dtype: 'float32' | 'float64'): ModelConfig => ({
  input: { type: 'oneHot', vocabSize: V },
  layers: [{ cell: 'lstm', units: 151 }, { cell: 'gru', units: 67 }],
  dense: [{ units: V }],
  seed: 11,
  dtype,
});

function batch(B: number, T: number, seed: number) {
  const r = rng(seed);
  return { inputs: randInts(B * T, V, r), targets: randInts(B * T, V, r), batchSize: B, steps: T };
}
const inputsOf = ({ inputs, batchSize, steps }: ReturnType<typeof batch>) => ({ inputs, batchSize, steps });

/** Probabilities of one character at a time with the state carried: generation's own products. */
async function stepwise(model: Model, tokens: Int32Array): Promise<Float64Array[]> {
  model.resetState();
  const out: Float64Array[] = [];
  for (const t of tokens) out.push(await model.predict({ inputs: Int32Array.of(t), batchSize: 1, steps: 1 }, { carryState: true }));
  model.resetState();
  return out;
}

for (const name of fp32IsaNames(isa)) {
  describe.skipIf(!isa.supported(name))(`packed inference weights under ${name}`, () => {
    it('one row at a time and whole batches match fp64', async () => {
      expect(isa.set(name)).toBe(true);
      const m32 = Model.create(config('float32'));
      const m64 = Model.create(config('float64'));
      const tokens = randInts(9, V, rng(3));
      const [a, b] = [await stepwise(m32, tokens), await stepwise(m64, tokens)];
      a.forEach((p, i) => expect(relErr(p, b[i]), `step ${i}`).toBeLessThan(1e-4));
      for (const [B, T] of [[1, 1], [3, 4], [17, 2]]) {
        const x = inputsOf(batch(B, T, B * 7 + T));
        expect(relErr(await m32.predict(x), await m64.predict(x)), `${B}x${T}`).toBeLessThan(1e-4);
      }
      m32.dispose();
      m64.dispose();
    });
  });
}

describe('packed inference weights are never stale', () => {
  const fresh = () => Model.create(config('float32'));
  const probe = inputsOf(batch(2, 3, 99));

  it('after setParam (every weight the packed products use)', async () => {
    const used = fresh();
    const other = fresh();
    const tokens = Int32Array.of(4, 0, 9);
    for (const [k, name] of ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.weight_ih_l1', 'rnn.weight_hh_l1', 'dense.weight'].entries()) {
      const before = await stepwise(used, tokens);
      const changed = randn(used.getParam(name).length, rng(5 + k), 0.2);
      used.setParam(name, changed);
      other.setParam(name, changed);
      const after = await stepwise(used, tokens);
      expect(relErr(after[2], before[2]), name).toBeGreaterThan(1e-3);
      expect(after.map((p) => Array.from(p)), name).toEqual((await stepwise(other, tokens)).map((p) => Array.from(p)));
      expect(Array.from(await used.predict(probe)), name).toEqual(Array.from(await other.predict(probe)));
    }
    used.dispose();
    other.dispose();
  });

  it('after a training step and after importing a training state', async () => {
    const used = fresh();
    const other = fresh();
    await used.predict(probe);
    await stepwise(used, Int32Array.of(1, 2));
    const step = batch(4, 5, 7);
    used.trainStepSync(step, { learningRate: 0.05 });
    other.trainStepSync(step, { learningRate: 0.05 });
    expect(Array.from(await used.predict(probe))).toEqual(Array.from(await other.predict(probe)));
    expect((await stepwise(used, Int32Array.of(1, 2)))[1]).toEqual((await stepwise(other, Int32Array.of(1, 2)))[1]);

    const third = fresh();
    const initial = await third.predict(probe);
    await stepwise(third, Int32Array.of(1, 2));
    third.importTrainingState(used.exportTrainingState());
    expect(Array.from(await third.predict(probe))).toEqual(Array.from(await other.predict(probe)));
    expect((await stepwise(third, Int32Array.of(1, 2)))[1]).toEqual((await stepwise(other, Int32Array.of(1, 2)))[1]);
    expect(relErr(await third.predict(probe), initial)).toBeGreaterThan(1e-4);
    for (const m of [used, other, third]) m.dispose();
  });

  it('generation after a change matches a model that never generated', async () => {
    const used = fresh();
    const prime = Int32Array.of(1, 2, 3);
    const first = await used.generate(prime, 40, { seed: 4 });
    expect(Array.from(await used.generate(prime, 40, { seed: 4 }))).toEqual(Array.from(first));
    const weight = randn(used.getParam('dense.weight').length, rng(8), 1);
    used.setParam('dense.weight', weight);
    const other = fresh();
    other.setParam('dense.weight', weight);
    const changed = await used.generate(prime, 40, { seed: 4 });
    expect(Array.from(changed)).not.toEqual(Array.from(first));
    expect(Array.from(changed)).toEqual(Array.from(await other.generate(prime, 40, { seed: 4 })));
    used.dispose();
    other.dispose();
  });

  it('after switching the instruction-set variant (the packed layout is the variant\'s)', async () => {
    const names = fp32IsaNames(isa).filter((n) => isa.supported(n));
    const used = fresh();
    const m64 = Model.create(config('float64'));
    const want = await m64.predict(probe);
    for (const n of [...names, ...names]) {
      expect(isa.set(n)).toBe(true);
      expect(relErr(await used.predict(probe), want), n).toBeLessThan(1e-4);
    }
    isa.set(original);
    used.dispose();
    m64.dispose();
  });

  it('reports the packed copy in nativeBytes', async () => {
    const used = fresh();
    const before = used.info().nativeBytes;
    await used.generate(Int32Array.of(1), 5, { seed: 1 });
    expect(used.info().nativeBytes).toBeGreaterThan(before + 4 * 4 * 151 * 151);
    used.dispose();
  });
});
