// The training loop: schedules, progress output, callbacks, repeatability, early stopping,
// cancellation, stateful evaluation, predictData.
import { describe, expect, it } from 'vitest';
import {
  Model,
  ProgressBar,
  formatDuration,
  constantLR,
  cosineDecay,
  evaluateData,
  exampleBatches,
  exponentialDecay,
  fit,
  predictData,
  slidingWindows,
  streamBatches,
  type Batch,
  type BatchLog,
} from '../lib/index.js';
import { formatStatus, remainingSteps } from '../lib/progress.js';

function sinWindows(count: number, steps: number) {
  const series = Float64Array.from({ length: count + steps }, (_, i) => Math.sin(i * 0.3) + 0.3 * Math.sin(i * 0.71 + 1));
  return slidingWindows(series, steps);
}

function regressor(seed = 1): Model {
  return Model.create({ input: { type: 'features', size: 1 }, layers: [{ units: 7 }], output: 'last', dense: [{ units: 1 }], loss: 'mse', seed });
}

const windows = sinWindows(45, 6);
const epochBatches = ({ seed }: { seed: number }) => exampleBatches(windows, 8, { shuffle: true, seed });

class Sink {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(t: string) {
    this.text += t;
  }
}

describe('learning-rate schedules', () => {
  it('constant, exponential (continuous and staircase) and cosine with warm-up', () => {
    expect(constantLR(0.01)(1234)).toBe(0.01);
    const e = exponentialDecay({ initial: 0.1, decayRate: 0.5, decaySteps: 10 });
    expect(e(0)).toBeCloseTo(0.1, 12);
    expect(e(10)).toBeCloseTo(0.05, 12);
    expect(e(5)).toBeCloseTo(0.1 * Math.SQRT1_2, 12);
    expect(exponentialDecay({ initial: 0.1, decayRate: 0.5, decaySteps: 10, staircase: true })(19)).toBeCloseTo(0.05, 12);
    const c = cosineDecay({ initial: 1, decaySteps: 100, minimum: 0.1, warmupSteps: 10 });
    expect(c(0)).toBeCloseTo(0.1, 12);
    expect(c(9)).toBeCloseTo(1, 12);
    expect(c(10)).toBeCloseTo(1, 12);
    expect(c(60)).toBeCloseTo(0.55, 12);
    expect(c(110)).toBeCloseTo(0.1, 12);
    expect(c(500)).toBeCloseTo(0.1, 12);
    expect(() => exponentialDecay({ initial: 0.1, decayRate: 0.5, decaySteps: 0 })).toThrow(/decaySteps/);
    expect(() => cosineDecay({ initial: 0.1, decaySteps: 5, minimun: 0 } as never)).toThrow(/did you mean 'minimum'/);
  });
});

describe('progress output', () => {
  it('draws a redrawn bar with ETA on a TTY and plain lines elsewhere', () => {
    const tty = new Sink(true);
    const bar = new ProgressBar(tty, 2);
    bar.update({ epoch: 0, epochs: 3, step: 5, stepsPerEpoch: 10, loss: 1.23456, secondsPerBatch: 2 });
    // The ETA is for the whole run: 5 steps left in this epoch and 2 more epochs of 10, at 2 s each.
    expect(tty.text).toMatch(/^\r\[=+ +\] epoch 1\/3 step 5\/10 loss 1\.2346 2\.000 s\/batch ETA 50s/);
    const plain = new Sink(false);
    const lines = new ProgressBar(plain, 2);
    for (let step = 1; step <= 5; step++) lines.update({ epoch: 1, epochs: 2, step, loss: 0.5, secondsPerBatch: 0.1 });
    lines.endEpoch('epoch 2/2: done');
    expect(plain.text).not.toMatch(/\r|\x1b/);
    expect(plain.text.trim().split('\n')).toEqual([
      'epoch 2/2 step 2 loss 0.5000 0.100 s/batch',
      'epoch 2/2 step 4 loss 0.5000 0.100 s/batch',
      'epoch 2/2: done',
    ]);
  });

  it('estimates the whole run in plain lines too, from a known total when given one', () => {
    const plain = new Sink(false);
    const lines = new ProgressBar(plain, 3);
    for (let step = 1; step <= 3; step++) lines.update({ epoch: 0, epochs: 4, step, stepsPerEpoch: 6, loss: 1, secondsPerBatch: 10 });
    // 3 left in epoch 1 + 3 epochs of 6 = 21 steps of 10 s.
    expect(plain.text).toBe('epoch 1/4 step 3/6 loss 1.0000 10.000 s/batch ETA 3m30s\n');
    expect(formatStatus({ epoch: 1, epochs: 2, step: 2, stepsPerEpoch: 6, loss: 1, secondsPerBatch: 1, totalSteps: 9, globalStep: 8 })).toMatch(/ETA 1s$/);
    expect(remainingSteps({ epoch: 2, epochs: 3, step: 6, stepsPerEpoch: 6, loss: 1, secondsPerBatch: 1 })).toBe(0);
    expect(remainingSteps({ epoch: 0, epochs: 3, step: 6, loss: 1, secondsPerBatch: 1 })).toBeUndefined();
    expect(formatDuration(7 * 3600 + 125)).toBe('7h02m');
  });

  it('redraws a terminal bar at most every 100 ms of its injected clock, and always at an epoch end', () => {
    let now = 1_000;
    const tty = new Sink(true);
    const bar = new ProgressBar(tty, 50, () => now);
    const update = (step: number) => bar.update({ epoch: 0, epochs: 1, step, stepsPerEpoch: 4, loss: 1, secondsPerBatch: 1 });
    update(1);
    now += 99;
    update(2);
    expect(tty.text.match(/\r/g)).toHaveLength(1);
    now += 1;
    update(3);
    update(4);
    expect(tty.text.match(/step \d/g)).toEqual(['step 1', 'step 3', 'step 4']);
  });

  it("shows EpochLog.epoch (0-based) as 'epoch n/N' counted from 1, in the lines and the epoch summary", async () => {
    const sink = new Sink(false);
    const result = await fit(regressor(), [...exampleBatches(windows, 8)], { epochs: 2, progress: sink });
    expect(result.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(sink.text.match(/^epoch \d\/2:/gm)).toEqual(['epoch 1/2:', 'epoch 2/2:']);
  });
});

describe('fit', () => {
  it('trains over a factory source, calls back per batch and epoch, follows the schedule, lowers the loss', async () => {
    const model = regressor();
    const batchLogs: BatchLog[] = [];
    const epochs: number[] = [];
    const sink = new Sink(false);
    const before = await evaluateData(model, [...exampleBatches(windows, 8)]);
    const result = await fit(model, epochBatches, {
      epochs: 4,
      learningRate: exponentialDecay({ initial: 0.02, decayRate: 0.5, decaySteps: 6 }),
      validationData: [...exampleBatches(windows, 8)],
      progress: sink,
      onBatchEnd: (log) => void batchLogs.push(log),
      onEpochEnd: (log) => void epochs.push(log.epoch),
    });
    expect(result.stopped).toBe('completed');
    expect(epochs).toEqual([0, 1, 2, 3]);
    expect(batchLogs.length).toBe(4 * 6);
    expect(batchLogs.map((l) => l.globalStep)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(batchLogs[6].learningRate).toBeCloseTo(0.01, 12);
    expect(result.history.map((h) => h.batches)).toEqual([6, 6, 6, 6]);
    expect(result.history[3].valLoss!).toBeLessThan(before.loss * 0.7);
    expect(sink.text).toMatch(/epoch 4\/4: loss [\d.]+, val loss [\d.]+ \(6 batches/);
  });

  it('is repeatable with the same seeds, and the fit seed changes the data order', async () => {
    const run = async (seed: number) => {
      const losses: number[] = [];
      await fit(regressor(3), epochBatches, { epochs: 2, learningRate: 0.01, seed, progress: false, onBatchEnd: (l) => void losses.push(l.loss) });
      return losses;
    };
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('early stopping stops after `patience` epochs without improvement and restores the best parameters', async () => {
    const model = regressor();
    const data = [...exampleBatches(windows, 8)];
    let best: Float64Array | undefined;
    const result = await fit(model, data, {
      epochs: 30,
      // A rate that makes the loss blow up after a few epochs, so improvement stops.
      learningRate: (step) => (step < 18 ? 0.01 : 5),
      clipNorm: 0,
      validationData: data,
      earlyStopping: { patience: 2 },
      progress: false,
      onEpochEnd: (log) => {
        if (log.epoch === 2) best = model.getParam('dense.weight');
      },
    });
    expect(result.stopped).toBe('earlyStopping');
    expect(result.history.length).toBeLessThan(30);
    expect(result.bestEpoch).toBeDefined();
    const last = result.history[result.history.length - 1];
    expect(last.epoch - result.bestEpoch!).toBe(2);
    if (result.bestEpoch === 2) expect(model.getParam('dense.weight')).toEqual(best);
    const restored = await evaluateData(model, data);
    expect(restored.loss).toBeCloseTo(result.history[result.bestEpoch!].valLoss!, 5);
  });

  it('a callback returning false stops; an aborted signal rejects and leaves the model usable', async () => {
    const model = regressor();
    const stopped = await fit(model, epochBatches, { epochs: 5, progress: false, onBatchEnd: (l) => (l.step === 2 ? false : undefined) });
    expect(stopped.stopped).toBe('callback');
    expect(stopped.history[0].batches).toBe(2);

    const controller = new AbortController();
    const run = fit(model, epochBatches, {
      epochs: 50,
      progress: false,
      signal: controller.signal,
      onBatchEnd: (l) => {
        if (l.globalStep === 3) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/abort/i);
    const after = await model.trainStep([...exampleBatches(windows, 8)][0]);
    expect(Number.isFinite(after.loss)).toBe(true);
  });

  it('rejects bad options by name and one-shot generators after their epoch', async () => {
    const model = regressor();
    await expect(fit(model, epochBatches, { epochs: 0 })).rejects.toThrow(/options.epochs/);
    await expect(fit(model, epochBatches, { epochs: 1, learningrate: 0.1 } as never)).rejects.toThrow(/did you mean 'learningRate'/);
    await expect(fit(model, 42 as never, { epochs: 1 })).rejects.toThrow(/data must be an iterable/);
    await expect(fit(model, epochBatches, { epochs: 1, earlyStopping: { patience: 1 }, progress: false, learningRate: 0.01 })).resolves.toBeDefined();
    await expect(fit(model, epochBatches, { epochs: 1, earlyStopping: { patience: 1, monitor: 'valLoss' } })).rejects.toThrow(/validationData/);
    await expect(fit(model, exampleBatches(windows, 8), { epochs: 2, progress: false })).rejects.toThrow(/epoch 2.*function/);
    await expect(fit(model, epochBatches, { epochs: 1, learningRate: () => -1, progress: false })).rejects.toThrow(/learningRate/);
  });
});

describe('stateful evaluation and predictData', () => {
  const V = 7;
  const charModel = () => Model.create({ input: { type: 'oneHot', vocabSize: V }, layers: [{ units: 9 }, { cell: 'gru', units: 5 }], dense: [{ units: V }], seed: 2, dtype: 'float64' });
  const ids = Int32Array.from({ length: 3 * 41 + 1 }, (_, i) => (i * i + 3 * i) % V);

  it('evaluate with carryState over consecutive windows equals one long sequence', async () => {
    const model = charModel();
    const windows = [...streamBatches(ids, 3, 10)];
    const whole: Batch = {
      inputs: Int32Array.from({ length: 3 * 40 }, (_, i) => ids[Math.floor(i / 40) * 41 + (i % 40)]),
      targets: Int32Array.from({ length: 3 * 40 }, (_, i) => ids[Math.floor(i / 40) * 41 + (i % 40) + 1]),
      batchSize: 3,
      steps: 40,
    };
    const long = await model.evaluate(whole);
    const stateful = await evaluateData(model, windows, { stateful: true });
    const reset = await evaluateData(model, windows);
    expect(stateful.batches).toBe(4);
    expect(Math.abs(stateful.loss - long.loss)).toBeLessThan(1e-12);
    expect(Math.abs(reset.loss - long.loss)).toBeGreaterThan(1e-6);
    await expect(model.evaluate(windows[0], { carryState: 'yes' } as never)).rejects.toThrow(/options.carryState must be a boolean/);
    await expect(model.evaluate(windows[0], { keepState: true } as never)).rejects.toThrow(/unknown option 'keepState'/);
  });

  it("predictData 'last' picks each sequence's last valid step", async () => {
    const model = charModel();
    const batch = { inputs: ids.slice(0, 12), targets: ids.slice(1, 13), batchSize: 3, steps: 4, lengths: Int32Array.from([4, 1, 3]) };
    const all = await predictData(model, [batch]);
    expect(all.rows).toBe(12);
    const last = await predictData(model, [batch], { steps: 'last' });
    expect(last.rows).toBe(3);
    [3, 4, 10].forEach((row, b) => expect([...last.values.subarray(b * V, (b + 1) * V)]).toEqual([...all.values.subarray(row * V, (row + 1) * V)]));
  });
});
