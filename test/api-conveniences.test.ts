// The conveniences Keras/tfjs users reach for: fit's validationSplit, model.summary() and a
// readable util.inspect, predict's probabilities, and AbortSignal on every long call. Aborts happen
// before a call or at a deterministic point of its progress, never on a timer.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  Model,
  Seq2Seq,
  Vocabulary,
  beamSearch,
  exampleBatches,
  fit,
  generateSeries,
  predictData,
  sampleText,
  sampleTexts,
  slidingWindows,
  streamSeries,
  streamText,
  type ModelConfig,
} from '../lib/index.js';

const series = Float64Array.from({ length: 60 }, (_, i) => Math.sin(i * 0.3));
const windows = slidingWindows(series, 6);
const batches = [...exampleBatches(windows, 8)];
const regressorConfig: ModelConfig = { input: { type: 'features', size: 1 }, layers: [{ units: 5 }], output: 'last', dense: [{ units: 1 }], loss: 'mse', seed: 3 };

const text = 'abcab cabba bacca '.repeat(4);
const vocab = Vocabulary.fromText(text);
const charConfig: ModelConfig = { input: { type: 'oneHot', vocabSize: vocab.size }, layers: [{ units: 6 }], dense: [{ units: vocab.size }], seed: 4 };
const ids = vocab.encode(text);
const charBatch = { inputs: ids.slice(0, 12), targets: ids.slice(1, 13), batchSize: 2, steps: 6 };

const paramsOf = (m: Model) => m.params().map((p) => [p.name, Array.from(m.getParam(p.name))]);
const aborted = (reason?: unknown) => {
  const c = new AbortController();
  c.abort(reason);
  return c.signal;
};

describe('fit validationSplit', () => {
  it('holds out the last batches, exactly as validationData of those batches would', async () => {
    const a = Model.create(regressorConfig);
    const b = Model.create(regressorConfig);
    const split = 0.25;
    const trainCount = Math.floor(batches.length * (1 - split));
    const withSplit = await fit(a, batches, { epochs: 2, progress: false, validationSplit: split });
    const explicit = await fit(b, batches.slice(0, trainCount), { epochs: 2, progress: false, validationData: batches.slice(trainCount) });
    expect(withSplit.history.map((h) => h.batches)).toEqual([trainCount, trainCount]);
    expect(withSplit.history.map((h) => [h.loss, h.valLoss])).toEqual(explicit.history.map((h) => [h.loss, h.valLoss]));
    expect(withSplit.history[0].valLoss).toBeGreaterThan(0);
  });

  it('refuses a source it cannot split, or a second validation set, naming the option', async () => {
    const m = Model.create(regressorConfig);
    const before = paramsOf(m);
    await expect(fit(m, () => batches, { epochs: 1, validationSplit: 0.2 })).rejects.toThrow(TypeError);
    await expect(fit(m, () => batches, { epochs: 1, validationSplit: 0.2 })).rejects.toThrow(/validationSplit/);
    await expect(fit(m, exampleBatches(windows, 8), { epochs: 1, validationSplit: 0.2 })).rejects.toThrow(/validationSplit needs data as an array/);
    await expect(fit(m, batches, { epochs: 1, validationSplit: 0.2, validationData: batches })).rejects.toThrow(/validationSplit and options.validationData/);
    await expect(fit(m, batches, { epochs: 1, validationSplit: 1 })).rejects.toThrow(RangeError);
    await expect(fit(m, batches, { epochs: 1, validationSplit: 0 })).rejects.toThrow(/leaves no batch/);
    await expect(fit(m, batches.slice(0, 1), { epochs: 1, validationSplit: 0.5 })).rejects.toThrow(/leaves no batch/);
    expect(paramsOf(m)).toEqual(before);
  });
});

describe('model.summary() and util.inspect', () => {
  const config: ModelConfig = {
    input: { type: 'embedding', vocabSize: 11, dim: 3 },
    layers: [{ cell: 'gru', units: 4 }, { units: 5, bidirectional: true }],
    dense: [{ units: 6, activation: 'tanh' }, { units: 11 }],
    conditionSize: 2,
  };

  it('lists every layer with its output shape and the sizes of its real tensors', () => {
    const m = Model.create(config);
    const table = m.summary();
    // Parameter counts from the tensors themselves, grouped the way the table groups them.
    const count = (match: (name: string) => boolean) =>
      m.params().filter((p) => match(p.name)).reduce((n, p) => n + m.getParam(p.name).length, 0);
    const expected: [RegExp, number][] = [
      [/^embedding \(11 -> 3\)\s+\(batch, steps, 3\)\s+([\d,]+)$/m, count((n) => n.startsWith('embedding.'))],
      [/^gru 4\s+\(batch, steps, 4\)\s+([\d,]+)$/m, count((n) => n.startsWith('rnn.') && n.endsWith('_l0'))],
      [/^ {2}condition -> layer 0 state\s+\(batch, 4\)\s+([\d,]+)$/m, count((n) => /^condition\..*_l0$/.test(n))],
      [/^bidirectional lstm 5\s+\(batch, steps, 10\)\s+([\d,]+)$/m, count((n) => /^rnn\..*_l1(_reverse)?$/.test(n))],
      [/^ {2}condition -> layer 1 state\s+\(batch, 10\)\s+([\d,]+)$/m, count((n) => /^condition\..*_l1(_reverse)?$/.test(n))],
      [/^dense 6 \(tanh\)\s+\(batch, steps, 6\)\s+([\d,]+)$/m, count((n) => n.startsWith('dense0.'))],
      [/^dense 11\s+\(batch, steps, 11\)\s+([\d,]+)$/m, count((n) => n.startsWith('dense1.'))],
    ];
    let sum = 0;
    for (const [row, n] of expected) {
      const got = row.exec(table);
      expect(got, `${row} in\n${table}`).not.toBeNull();
      expect(Number(got![1].replace(/,/g, ''))).toBe(n);
      expect(n).toBeGreaterThan(0);
      sum += n;
    }
    // Every tensor is in exactly one row, and the total is the model's own count.
    expect(sum).toBe(count(() => true));
    const total = /^Total params: ([\d,]+) \(trainable ([\d,]+), non-trainable 0\)$/m.exec(table);
    expect(Number(total![1].replace(/,/g, ''))).toBe(sum);
    expect(Number(total![1].replace(/,/g, ''))).toBe(m.info().parameterCount);
    expect(table).toMatch(/^Backend: cpu, dtype float32, precision fp32$/m);
    expect(table).toMatch(new RegExp(`native memory: [\\d.]+ (B|KiB|MiB)`));
    m.dispose();
  });

  it('counts a frozen embedding as non-trainable and a one-hot input as parameter-free', () => {
    const m = Model.create({ input: { type: 'embedding', vocabSize: 9, dim: 2, frozen: true }, layers: [{ cell: 'rnn', units: 3 }], output: 'last', dense: [{ units: 9 }] });
    const frozen = m.params().filter((p) => !p.trainable).reduce((n, p) => n + m.getParam(p.name).length, 0);
    expect(frozen).toBe(18);
    expect(m.summary()).toMatch(new RegExp(`non-trainable ${frozen}\\)`));
    expect(m.summary()).toMatch(/^dense 9\s+\(batch, 9\)/m);
    const oneHot = Model.create(charConfig);
    expect(oneHot.summary()).toMatch(/^one-hot \(\d+\)\s+\(batch, steps, \d+\)\s+0$/m);
    m.dispose();
    oneHot.dispose();
  });

  it('inspects as the architecture and placement, not native internals', () => {
    const m = Model.create(config);
    const shown = inspect(m);
    expect(shown).toBe(`Model { embedding 11x3 -> [gru 4, bi-lstm 5] -> dense [6, 11], output 'sequence', cpu float32 fp32, ${m.info().parameterCount} params, step 0 }`);
    expect(inspect({ nested: m })).toContain('Model { embedding 11x3');
    m.dispose();
    expect(inspect(m)).toMatch(/disposed \}$/);
  });
});

describe('predict output', () => {
  it("'probabilities' is the softmax of the logits ('logits' stays the default), as a Float64Array", async () => {
    const m = Model.create(charConfig);
    const logits = await m.predict(charBatch);
    expect(await m.predict(charBatch, { output: 'logits' })).toEqual(logits);
    const probs = await m.predict(charBatch, { output: 'probabilities' });
    expect(probs).toBeInstanceOf(Float64Array);
    expect(logits).toBeInstanceOf(Float64Array);
    const V = m.outputSize;
    expect(probs.length).toBe(charBatch.batchSize * charBatch.steps * V);
    for (let r = 0; r < probs.length / V; r++) {
      const row = probs.subarray(r * V, (r + 1) * V);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      // softmax: p_i / p_0 = exp(z_i - z_0)
      for (let i = 1; i < V; i++) expect(row[i] / row[0]).toBeCloseTo(Math.exp(logits[r * V + i] - logits[r * V]), 10);
    }
    const data = await predictData(m, [charBatch], { output: 'probabilities' });
    expect(data.values).toEqual(probs);
    m.dispose();
  });

  it('stays finite for huge logits, and is refused for a regression model', async () => {
    const m = Model.create(charConfig);
    const bias = new Float64Array(m.outputSize).fill(1000);
    bias[2] = 1010;
    m.setParam('dense.bias', bias);
    const probs = await m.predict(charBatch, { output: 'probabilities' });
    expect(probs.every((p) => Number.isFinite(p))).toBe(true);
    expect(probs[2]).toBeGreaterThan(0.99);
    await expect(m.predict(charBatch, { output: 'softmax' as never })).rejects.toThrow(/options.output must be one of 'logits', 'probabilities'/);
    const r = Model.create(regressorConfig);
    await expect(r.predict(batches[0], { output: 'probabilities' })).rejects.toThrow(TypeError);
    m.dispose();
    r.dispose();
  });
});

describe('AbortSignal on every long call', () => {
  it('trainStep aborted before dispatch or while queued rejects with signal.reason and changes nothing', async () => {
    const m = Model.create(charConfig);
    const twin = Model.create(charConfig);
    const before = paramsOf(m);
    const reason = new Error('stop now');
    await expect(m.trainStep(charBatch, { signal: aborted(reason) })).rejects.toBe(reason);
    await expect(m.trainStep(charBatch, { signal: aborted() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(paramsOf(m)).toEqual(before);
    expect(m.info().step).toBe(0);
    // Queued behind a running step: the first completes, the aborted one never starts.
    const controller = new AbortController();
    const first = m.trainStep(charBatch, { learningRate: 0.01 });
    const second = m.trainStep(charBatch, { learningRate: 0.01, signal: controller.signal });
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    const r = await first;
    expect(r).toEqual(await twin.trainStep(charBatch, { learningRate: 0.01 }));
    expect(m.info().step).toBe(1);
    // Still usable: the next step equals the twin's.
    expect(await m.trainStep(charBatch, { learningRate: 0.01 })).toEqual(await twin.trainStep(charBatch, { learningRate: 0.01 }));
    expect(paramsOf(m)).toEqual(paramsOf(twin));
    await expect(m.trainStep(charBatch, { signal: 'no' as never })).rejects.toThrow(/options.signal must be an AbortSignal/);
    m.dispose();
    twin.dispose();
  });

  it('evaluate and predict reject and leave the carried state alone', async () => {
    const m = Model.create(charConfig);
    const twin = Model.create(charConfig);
    await m.evaluate(charBatch, { carryState: true });
    await twin.evaluate(charBatch, { carryState: true });
    const state = m.getState();
    await expect(m.evaluate(charBatch, { carryState: true, signal: aborted() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(m.predict(charBatch, { carryState: true, signal: aborted() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(predictData(m, [charBatch], { signal: aborted() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(m.getState()).toEqual(state);
    expect(await m.evaluate(charBatch, { carryState: true })).toEqual(await twin.evaluate(charBatch, { carryState: true }));
    expect(await m.predict(charBatch, { carryState: true })).toEqual(await twin.predict(charBatch, { carryState: true }));
    m.dispose();
    twin.dispose();
  });

  it('generate rejects with an AbortError carrying the tokens drawn so far; the next call equals a twin', async () => {
    const m = Model.create(charConfig);
    const twin = Model.create(charConfig);
    const prime = vocab.encode('ab');
    const full = await twin.generate(prime, 150, { seed: 7 });
    // Abort after the first chunk has come back: a deterministic point, no timer.
    const controller = new AbortController();
    const original = m.generateChunk.bind(m);
    m.generateChunk = async (...args: Parameters<Model['generateChunk']>) => {
      const out = await original(...args);
      controller.abort('enough');
      return out;
    };
    const error = await m.generate(prime, 150, { seed: 7, signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    const partial = (error as AbortError<Int32Array>).partial;
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(150);
    expect(partial).toEqual(full.subarray(0, partial.length));
    expect((error as AbortError).cause).toBe('enough');
    const before = await m.generate(prime, 5, { signal: aborted() }).catch((e: unknown) => e);
    expect((before as AbortError<Int32Array>).partial).toEqual(new Int32Array(0));
    // Unsignalled and signalled generation agree, and the model is still usable.
    expect(await m.generate(prime, 150, { seed: 7 })).toEqual(full);
    expect(await m.generate([prime, prime], 70, { seed: 9, signal: new AbortController().signal })).toEqual(await twin.generate([prime, prime], 70, { seed: 9 }));
    m.dispose();
    twin.dispose();
  });

  it('streamText ends its iteration; sampleTexts and sampleText reject with the partial text', async () => {
    const m = Model.create(charConfig);
    const options = { prime: 'ab', length: 40, seed: 3, chunkSize: 8 };
    const full = await sampleTexts(m, vocab, { ...options, count: 1 });
    const controller = new AbortController();
    let streamed = '';
    for await (const piece of streamText(m, vocab, { ...options, signal: controller.signal })) {
      streamed += piece;
      controller.abort(); // after the first piece: the iteration must end, not throw
    }
    expect(streamed.length).toBe(8);
    expect(full[0].startsWith(streamed)).toBe(true);
    const e = await sampleTexts(m, vocab, { ...options, count: 2, signal: aborted() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
    expect((e as AbortError).partial).toEqual(['', '']);
    const t = await sampleText(m, vocab, { prime: 'ab', length: 10, signal: aborted() }).catch((x: unknown) => x);
    expect(t).toMatchObject({ name: 'AbortError', partial: '' });
    expect(await sampleTexts(m, vocab, { ...options, count: 1 })).toEqual(full);
    m.dispose();
  });

  it('series generation and beam search stop at the signal and put the carried state back', async () => {
    const s = Model.create({ input: { type: 'features', size: 1 }, layers: [{ units: 4 }], dense: [{ units: 1 }], loss: 'mse', seed: 2 });
    const prime = Float64Array.from([0.1, 0.2, 0.3]);
    const full = await generateSeries(s, prime, { length: 6 });
    const controller = new AbortController();
    const got: number[] = [];
    for await (const step of streamSeries(s, prime, { length: 6, signal: controller.signal })) {
      got.push(step[0]);
      if (got.length === 2) controller.abort();
    }
    expect(got).toEqual(Array.from(full.subarray(0, 2)));
    const e = await generateSeries(s, prime, { length: 6, signal: aborted() }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'AbortError', partial: new Float64Array(0) });
    expect(await generateSeries(s, prime, { length: 6 })).toEqual(full);

    const m = Model.create(charConfig);
    await m.evaluate(charBatch, { carryState: true });
    const state = m.getState();
    const reason = new Error('cancelled');
    await expect(beamSearch(m, vocab.encode('ab'), { maxLength: 5, signal: aborted(reason) })).rejects.toBe(reason);
    expect(m.getState()).toEqual(state);
    s.dispose();
    m.dispose();
  });

  it('a Seq2Seq step or translation aborted before it starts changes neither model', async () => {
    const config = { sourceVocabSize: 5, targetVocabSize: 6, go: 1, eos: 2, embeddingDim: 3, layers: [{ units: 3 }], seed: 5 };
    const a = Seq2Seq.create(config);
    const b = Seq2Seq.create(config);
    const batch = { source: Int32Array.from([1, 3, 4, 0, 2, 3]), sourceSteps: 3, target: Int32Array.from([3, 4, 2, 5, 3, 2]), targetSteps: 3, batchSize: 2 };
    const params = (s: Seq2Seq) => s.params().map((p) => Array.from(s.getParam(p.name)));
    const before = params(a);
    await expect(a.trainStep(batch, { signal: aborted() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(a.translate(Int32Array.from([1, 3]), { signal: aborted() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(params(a)).toEqual(before);
    expect(await a.trainStep(batch, { learningRate: 0.05 })).toEqual(await b.trainStep(batch, { learningRate: 0.05 }));
    expect(params(a)).toEqual(params(b));
    expect(await a.translate(Int32Array.from([1, 3]))).toEqual(await b.translate(Int32Array.from([1, 3])));
    a.dispose();
    b.dispose();
  });
});
