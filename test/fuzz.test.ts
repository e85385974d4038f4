// 10 000 randomized calls through the public API and the raw binding with wrong kinds, sizes and
// values (fixed seed, reproducible). Every call works or throws a TypeError/RangeError/Error; the
// process survives; afterwards the fuzzed model trains exactly like a clean twin.
import { describe, expect, it } from 'vitest';
import { Model, beamSearch, type ModelConfig } from '../lib/index.js';
import { rng } from './helpers/numeric.js';

const CALLS = 10_000;
const V = 6;
const config: ModelConfig = {
  input: { type: 'embedding', vocabSize: V, dim: 3 },
  layers: [{ cell: 'gru', units: 5, dropoutOutput: 0.2 }, { cell: 'lstm', units: 4, bidirectional: true }],
  dense: [{ units: V }],
  seed: 17,
};

// A value of a random wrong-or-right kind for a slot that wants `length` elements.
function junk(random: () => number, length: number): unknown {
  // Sizes near the expected one (capped: the point is the binding's checks, not the test's own heap).
  const n = Math.min(64, [length, length - 1, length + 1, 0, 1, Math.floor(random() * 3 * length)][Math.floor(random() * 6)]);
  const ints = () => Int32Array.from({ length: Math.max(n, 0) }, () => Math.floor(random() * (V + 4)) - 2);
  const choices = [
    () => ints(),
    () => Float32Array.from({ length: Math.max(n, 0) }, () => random() * 2 - 1),
    () => Float64Array.from({ length: Math.max(n, 0) }, () => [NaN, Infinity, 1, -1][Math.floor(random() * 4)]),
    () => Array.from({ length: Math.max(n, 0) }, () => 1),
    () => new Uint8Array(Math.max(n, 0)),
    () => null,
    () => undefined,
    () => 'abc',
    () => Math.floor(random() * 10) - 3,
    () => ({ length: n }),
    () => 2 ** 40,
    () => -0.5,
  ];
  return choices[Math.floor(random() * choices.length)]();
}

function randomBatch(random: () => number): Record<string, unknown> {
  // Half the time a valid batch with at most one field spoiled, so calls get past the first check.
  if (random() < 0.5) {
    const batch: Record<string, unknown> = validBatch(random);
    const key = ['inputs', 'targets', 'lengths', 'weights', 'batchSize', 'steps', 'none'][Math.floor(random() * 7)];
    if (key !== 'none') batch[key] = junk(random, key === 'lengths' ? 2 : 8);
    return batch;
  }
  const B = [1, 2, 3, 0, -1, 2.5, 1e9][Math.floor(random() * 7)];
  const T = [1, 4, 0, 3][Math.floor(random() * 4)];
  const n = Math.max(0, Math.floor(B * T)) || 1;
  const batch: Record<string, unknown> = { batchSize: B, steps: T, inputs: junk(random, n), targets: junk(random, n) };
  if (random() < 0.3) batch.lengths = junk(random, Math.max(1, Math.floor(B)));
  if (random() < 0.3) batch.weights = junk(random, n);
  if (random() < 0.1) batch[['step', 'input', 'target', 'extra'][Math.floor(random() * 4)]] = 1;
  return batch;
}

function randomOptions(random: () => number): unknown {
  if (random() < 0.5) return { learningRate: 0.01, carryState: random() < 0.5 };
  const pick = [
    () => ({}),
    () => ({ learningRate: junk(random, 1) }),
    () => ({ clipNorm: [-1, NaN, 5, 'x'][Math.floor(random() * 4)] }),
    () => ({ beta1: [1, 0.5, -0.1][Math.floor(random() * 3)] }),
    () => ({ learningrate: 0.1 }),
    () => ({ nonFinite: ['skip', 'error', 'maybe'][Math.floor(random() * 3)] }),
    () => ({ carryState: random() < 0.5, stateGrad: [true, false, 1][Math.floor(random() * 3)] }),
    () => null,
    () => 'fast',
  ];
  return pick[Math.floor(random() * pick.length)]();
}

function validBatch(random: () => number) {
  const B = 2;
  const T = 4;
  return {
    inputs: Int32Array.from({ length: B * T }, () => Math.floor(random() * V)),
    targets: Int32Array.from({ length: B * T }, () => Math.floor(random() * V)),
    batchSize: B,
    steps: T,
  };
}

describe('fuzzing the API', () => {
  it(`${CALLS} randomized calls: each works or throws a clean error, and the model still trains like its twin`, async () => {
    const random = rng(20261123);
    const model = Model.create(config);
    type Raw = Record<string, (...args: unknown[]) => unknown>;
    const raw = (model as unknown as { native: Raw }).native;
    const counts = { ok: 0, TypeError: 0, RangeError: 0, Error: 0 };
    const settle = async (call: () => unknown) => {
      try {
        await call();
        counts.ok++;
      } catch (e) {
        const name = (e as Error).constructor.name;
        expect(['TypeError', 'RangeError', 'Error']).toContain(name);
        counts[name as 'Error']++;
      }
    };
    const calls: (() => unknown)[] = [
      () => model.trainStepSync(randomBatch(random) as never, randomOptions(random) as never),
      () => model.trainStep(randomBatch(random) as never, randomOptions(random) as never),
      () => model.evaluateSync(randomBatch(random) as never),
      () => model.predict(randomBatch(random) as never),
      () => model.generate(junk(random, 2) as never, junk(random, 1) as never, randomOptions(random) as never),
      () => model.setParam(['dense.bias', 'nope', 'rnn.weight_hh_l1_reverse'][Math.floor(random() * 3)], junk(random, V) as never),
      () => model.getParam(junk(random, 1) as never),
      () => model.setState({ batchSize: junk(random, 1), blocks: [junk(random, 10)] } as never),
      () => raw.trainStepSync(randomBatch(random), randomOptions(random)),
      () => raw.evaluateSync(randomBatch(random), junk(random, 1)),
      () => raw.generate(junk(random, 3), junk(random, 1), junk(random, 1), randomOptions(random)),
      () => raw.setParam(junk(random, 1), junk(random, 4)),
      () => raw.setState(junk(random, 1), [junk(random, 10)]),
      () => raw.importTrainingState({ params: junk(random, 10), m: junk(random, 10), v: junk(random, 10), step: junk(random, 1) }),
      () => model.encode(randomBatch(random) as never, { training: random() < 0.5 }),
      () => model.trainFromStateGrad([junk(random, 10), junk(random, 10), junk(random, 8), junk(random, 8)] as never, randomOptions(random) as never),
      () => raw.encode(randomBatch(random), junk(random, 1)),
      () => raw.trainFromStateGrad([junk(random, 10)], randomOptions(random)),
      () => beamSearch(model, junk(random, 2) as never, { maxLength: junk(random, 1), beamWidth: junk(random, 1) } as never),
      () => Model.create({ ...config, layers: [{ units: junk(random, 1) as number }] }),
      () => new (Object.getPrototypeOf(raw).constructor)(junk(random, 1), junk(random, 1), junk(random, 1)),
    ];
    for (let i = 0; i < CALLS; i++) await settle(calls[Math.floor(random() * calls.length)]);
    console.log(`fuzz: ${CALLS} calls, ${JSON.stringify(counts)}`);
    expect(counts.ok + counts.TypeError + counts.RangeError + counts.Error).toBe(CALLS);
    expect(counts.TypeError).toBeGreaterThan(100);
    expect(counts.RangeError).toBeGreaterThan(100);

    // The fuzzed model, reset to the clean twin's weights and state, trains identically.
    const twin = Model.create(config);
    const state = (twin as unknown as { native: Raw }).native.exportTrainingState();
    raw.importTrainingState(state);
    model.resetState();
    const data = rng(5);
    for (let i = 0; i < 5; i++) {
      const b = validBatch(data);
      const [x, y] = [await model.trainStep(b), await twin.trainStep(b)];
      expect(x.loss).toBe(y.loss);
    }
  });
});
