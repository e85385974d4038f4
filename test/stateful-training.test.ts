// Carrying the state across batches (truncated BPTT) must beat resetting it, on a text built so
// that it has to. Configuration: segments "K.......k" (S = 9 chars: a random key K of 4, seven
// dots, the key's partner k), 16 streams x 20 steps, one LSTM layer of 32 units, one-hot input,
// Adam with cosine decay from 1e-2, 30 epochs of 60 batches; held out: 12 batches of fresh text.
//
// Why it must hold: per segment only K is unpredictable (ln 4), so the best possible loss is
// ln(4)/9 = 0.154 nats/char. The partner k sits 8 steps after its key; with the state reset every
// batch, k is unknowable whenever it falls in the first 8 of the 20 steps of a window (gcd(9, 20) =
// 1, so 40% of partners): a reset model's loss is at least (1 + 0.4) * ln(4) / 9 = 0.216.
import { describe, expect, it } from 'vitest';
import { Model, cosineDecay, evaluateData, fit, seededRandom, streamBatches } from '../lib/index.js';

const S = 9;
const T = 20;
const B = 16;
const DOT = 8;

function segmentedText(length: number, seed: number): Int32Array {
  const random = seededRandom(seed);
  const out = new Int32Array(length);
  for (let i = 0; i < length; i += S) {
    const key = Math.floor(random() * 4);
    for (let j = 0; j < S && i + j < length; j++) out[i + j] = j === 0 ? key : j === S - 1 ? 4 + key : DOT;
  }
  return out;
}

describe('stateful training (truncated BPTT)', () => {
  it('carrying state across batches gives a lower held-out loss than resetting every batch', async () => {
    const train = segmentedText(B * T * 60 + 1, 11);
    const heldOut = segmentedText(B * T * 12 + 1, 12);
    const resetFloor = (1.4 * Math.log(4)) / S;
    const heldOutLoss: Record<string, number> = {};
    for (const stateful of [true, false]) {
      const model = Model.create({ input: { type: 'oneHot', vocabSize: 9 }, layers: [{ units: 32 }], dense: [{ units: 9 }], seed: 1 });
      await fit(model, () => streamBatches(train, B, T), {
        epochs: 30,
        learningRate: cosineDecay({ initial: 1e-2, decaySteps: 30 * 60, minimum: 1e-3 }),
        stateful,
        progress: false,
      });
      heldOutLoss[stateful ? 'carried' : 'reset'] = (await evaluateData(model, [...streamBatches(heldOut, B, T)], { stateful })).loss;
      model.dispose();
    }
    console.log(`held-out nats/char: carried ${heldOutLoss.carried.toFixed(4)}, reset ${heldOutLoss.reset.toFixed(4)} (best possible ${(Math.log(4) / S).toFixed(4)}, reset floor ${resetFloor.toFixed(4)})`);
    expect(heldOutLoss.carried).toBeLessThan(resetFloor - 0.01);
    expect(heldOutLoss.reset).toBeGreaterThan(resetFloor - 0.02);
    expect(heldOutLoss.carried).toBeLessThan(heldOutLoss.reset - 0.05);
  });
});
