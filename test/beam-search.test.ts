// Beam search against brute force (every sequence scored by one predict), greedy against a
// hand-written argmax loop, eos and length-penalty semantics, state handling and bad arguments.
import { describe, expect, it } from 'vitest';
import { Model, beamSearch, type ModelConfig } from '../lib/index.js';

const V = 4;
const config: ModelConfig = {
  input: { type: 'embedding', vocabSize: V, dim: 3 },
  layers: [{ cell: 'lstm', units: 5 }, { cell: 'gru', units: 3 }],
  dense: [{ units: V }],
  seed: 11,
  dtype: 'float64',
};

function logSoftmax(row: Float64Array): Float64Array {
  const max = Math.max(...row);
  const logZ = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  return row.map((x) => x - logZ);
}

// log P(seq | prime) from one pass over prime + seq[:-1], from the zero state.
async function sequenceLogProb(model: Model, prime: number[], seq: number[]): Promise<number> {
  const inputs = Int32Array.from([...prime, ...seq.slice(0, -1)]);
  const logits = await model.predict({ inputs, batchSize: 1, steps: inputs.length });
  let total = 0;
  seq.forEach((token, j) => {
    const step = prime.length - 1 + j;
    total += logSoftmax(logits.subarray(step * V, (step + 1) * V))[token];
  });
  return total;
}

function allSequences(length: number): number[][] {
  if (length === 0) return [[]];
  return allSequences(length - 1).flatMap((s) => Array.from({ length: V }, (_, v) => [...s, v]));
}

// Makes the random model's distributions peaked enough that the best sequence is not a tie.
function sharpen(model: Model): void {
  const w = model.getParam('dense.weight').map((x) => x * 6);
  model.setParam('dense.weight', w);
}

describe('beamSearch', () => {
  it('with a beam wide enough to keep everything, finds the most probable sequence (brute force)', async () => {
    const model = Model.create(config);
    sharpen(model);
    const prime = [2, 1];
    let best = { seq: [] as number[], logProb: -Infinity };
    for (const seq of allSequences(3)) {
      const logProb = await sequenceLogProb(model, prime, seq);
      if (logProb > best.logProb) best = { seq, logProb };
    }
    const [top] = await beamSearch(model, Int32Array.from(prime), { maxLength: 3, beamWidth: V ** 3 });
    expect(Array.from(top.tokens)).toEqual(best.seq);
    expect(top.logProb).toBeCloseTo(best.logProb, 9);
    expect(top.finished).toBe(false);
    // Every returned hypothesis's logProb is the model's probability of its tokens.
    const some = await beamSearch(model, Int32Array.from(prime), { maxLength: 3, beamWidth: 5, results: 5 });
    expect(some).toHaveLength(5);
    for (const h of some) expect(h.logProb).toBeCloseTo(await sequenceLogProb(model, prime, Array.from(h.tokens)), 9);
    for (let i = 1; i < some.length; i++) expect(some[i].score).toBeLessThanOrEqual(some[i - 1].score);
    model.dispose();
  });

  it('a beam of 1 is greedy decoding', async () => {
    const model = Model.create(config);
    sharpen(model);
    const tokens = [3];
    const greedy: number[] = [];
    for (let s = 0; s < 6; s++) {
      const logits = await model.predict({ inputs: Int32Array.from(tokens), batchSize: 1, steps: tokens.length });
      const last = logits.subarray((tokens.length - 1) * V);
      const next = last.indexOf(Math.max(...last));
      greedy.push(next);
      tokens.push(next);
    }
    const [h] = await beamSearch(model, Int32Array.from([3]), { maxLength: 6, beamWidth: 1 });
    expect(Array.from(h.tokens)).toEqual(greedy);
    model.dispose();
  });

  it('eos finishes a hypothesis, and the length penalty ranks by logProb / ((5 + n) / 6)^alpha', async () => {
    const model = Model.create(config);
    sharpen(model);
    for (const alpha of [0, 0.6, 2]) {
      const out = await beamSearch(model, Int32Array.from([1]), { maxLength: 5, beamWidth: 4, eos: 0, lengthPenalty: alpha, results: 4 });
      expect(out.length).toBeGreaterThan(0);
      for (const h of out) {
        const t = Array.from(h.tokens);
        expect(t.slice(0, -1)).not.toContain(0);
        if (h.finished) expect(t[t.length - 1]).toBe(0);
        else expect(t).toHaveLength(5);
        expect(h.score).toBeCloseTo(h.logProb / ((5 + t.length) / 6) ** alpha, 12);
      }
      for (let i = 1; i < out.length; i++) expect(out[i].score).toBeLessThanOrEqual(out[i - 1].score);
    }
    model.dispose();
  });

  it('starts from initialState when given, and puts the carried state back', async () => {
    const model = Model.create(config);
    sharpen(model);
    // Blocks: layer 0 (LSTM, 5 units) h and c, layer 1 (GRU, 3 units) h.
    const start = { batchSize: 1, blocks: [0.5, -0.3, 0.8].map((s, i) => new Float64Array([5, 5, 3][i]).fill(s)) };
    // The carried state before the call: a batch of 2 that must survive it.
    const carried = { batchSize: 2, blocks: [10, 10, 6].map((n, i) => Float64Array.from({ length: n }, (_, j) => Math.sin(i + j))) };
    model.setState(carried);
    const [fromStart] = await beamSearch(model, Int32Array.from([2]), { maxLength: 4, beamWidth: 1, initialState: start });
    expect(Array.from(model.getState().blocks[0])).toEqual(Array.from(carried.blocks[0]));
    expect(model.getState().batchSize).toBe(2);
    // The same decode by hand from that state.
    model.setState(start);
    const tokens: number[] = [];
    let next = 2;
    for (let s = 0; s < 4; s++) {
      const logits = await model.predict({ inputs: Int32Array.from([next]), batchSize: 1, steps: 1 }, { carryState: true });
      next = logits.indexOf(Math.max(...logits));
      tokens.push(next);
    }
    expect(Array.from(fromStart.tokens)).toEqual(tokens);
    const [fromZero] = await beamSearch(model, Int32Array.from([2]), { maxLength: 4, beamWidth: 1 });
    expect(fromZero.logProb).not.toBeCloseTo(fromStart.logProb, 6);
    model.dispose();
  });

  it('a trained model decodes the continuation it learned', async () => {
    const model = Model.create({ ...config, dtype: 'float32', seed: 3 });
    const cycle = Int32Array.from({ length: 8 * 12 }, (_, i) => i % V);
    for (let i = 0; i < 150; i++) {
      model.trainStepSync({ inputs: cycle, targets: Int32Array.from(cycle, (t) => (t + 1) % V), batchSize: 8, steps: 12 }, { learningRate: 0.05 });
    }
    const [h] = await beamSearch(model, Int32Array.from([1]), { maxLength: 6, beamWidth: 3 });
    expect(Array.from(h.tokens)).toEqual([2, 3, 0, 1, 2, 3]);
    expect(h.logProb).toBeGreaterThan(-0.5);
    model.dispose();
  });

  it('rejects bad arguments with errors naming them', async () => {
    const model = Model.create(config);
    const prime = Int32Array.from([1]);
    await expect(beamSearch(model, prime, { maxLength: 0 })).rejects.toThrow(/options\.maxLength/);
    await expect(beamSearch(model, prime, { maxLength: 3, beamWidth: 0 })).rejects.toThrow(/options\.beamWidth/);
    await expect(beamSearch(model, prime, { maxLength: 3, beamWidth: 2, results: 3 })).rejects.toThrow(/options\.results/);
    await expect(beamSearch(model, prime, { maxLength: 3, eos: V })).rejects.toThrow(/options\.eos/);
    await expect(beamSearch(model, prime, { maxLength: 3, lengthPenalty: -1 })).rejects.toThrow(/options\.lengthPenalty/);
    await expect(beamSearch(model, prime, { maxLength: 3, beam: 2 } as never)).rejects.toThrow(/beam/);
    await expect(beamSearch(model, Int32Array.from([V]), { maxLength: 3 })).rejects.toThrow(RangeError);
    await expect(beamSearch(model, new Int32Array(0), { maxLength: 3 })).rejects.toThrow(/prime/);
    await expect(
      beamSearch(model, prime, { maxLength: 3, initialState: { batchSize: 2, blocks: [] } }),
    ).rejects.toThrow(/initialState/);
    const series = Model.create({ input: { type: 'features', size: 2 }, layers: [{ cell: 'gru', units: 3 }], dense: [{ units: 2 }], loss: 'mse' });
    await expect(beamSearch(series, prime, { maxLength: 3 })).rejects.toThrow(TypeError);
    // The model is still usable after the failed calls.
    expect((await beamSearch(model, prime, { maxLength: 2 }))[0].tokens).toHaveLength(2);
    series.dispose();
    model.dispose();
  });
});
