// fit's checkpoint option: files every N steps or every epoch, keep-K pruning, the best model by
// validation loss, history.jsonl, resuming from the saved checkpoints, and option validation.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BEST_CHECKPOINT,
  CheckpointManager,
  HISTORY_FILE,
  Model,
  exampleBatches,
  fit,
  loadCheckpoint,
  readHistory,
  slidingWindows,
  type Batch,
  type FitOptions,
} from '../lib/index.js';

const root = mkdtempSync(join(tmpdir(), 'fusedrnn-fit-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `run-${dirs++}`, 'nested');

const series = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i * 0.4));
const windows = slidingWindows(series, 5);
const batches: Batch[] = [...exampleBatches(windows, 6)];  // 6 batches per epoch
const validation: Batch[] = [...exampleBatches(slidingWindows(series.map((x) => x * 0.9), 5), 12)];

const regressor = (seed = 3) =>
  Model.create({ input: { type: 'features', size: 1 }, layers: [{ units: 5 }], output: 'last', dense: [{ units: 1 }], loss: 'mse', seed });
const base: FitOptions = { epochs: 3, learningRate: 0.02, progress: false };
const steps = (dir: string) => readdirSync(dir).filter((n) => /^ckpt-\d+\.safetensors$/.test(n)).sort();

describe('fit checkpoint option', () => {
  it('saves every N steps, keeps the newest K, and writes a history entry per save and epoch end', async () => {
    expect(batches.length).toBe(6);
    const dir = freshDir();
    const model = regressor();
    await fit(model, batches, { ...base, checkpoint: { dir, every: 4, keep: 2 } });
    // 18 steps: saves at 4, 8, 12, 16; the two newest kept.
    expect(steps(dir)).toEqual(['ckpt-00000012.safetensors', 'ckpt-00000016.safetensors']);
    const history = await readHistory(dir);
    expect(history.map((e) => e.step)).toEqual([4, 6, 8, 12, 16, 18]);
    expect(history.map((e) => e.epoch)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(history.every((e) => e.learningRate === 0.02 && e.stepsPerSecond > 0 && e.loss > 0)).toBe(true);
    expect(history.some((e) => e.valLoss !== undefined)).toBe(false);
    const latest = await loadCheckpoint(join(dir, 'ckpt-00000016.safetensors'));
    expect(latest.step).toBe(16);
    latest.model.dispose();
    model.dispose();
  });

  it("saves every epoch by default; keepBest keeps the model of the lowest validation loss", async () => {
    const dir = freshDir();
    const model = regressor();
    const result = await fit(model, batches, { ...base, epochs: 4, validationData: validation, checkpoint: { dir, keep: 0, keepBest: true } });
    expect(steps(dir)).toEqual([6, 12, 18, 24].map((s) => `ckpt-${String(s).padStart(8, '0')}.safetensors`));
    const history = await readHistory(join(dir, HISTORY_FILE));
    expect(history.map((e) => e.valLoss)).toEqual(result.history.map((e) => e.valLoss));
    expect(history.map((e) => e.loss)).toEqual(result.history.map((e) => e.loss));
    const bestEntry = history.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
    const best = await loadCheckpoint(join(dir, BEST_CHECKPOINT));
    expect(best.step).toBe(bestEntry.step);
    const atBest = await loadCheckpoint(join(dir, `ckpt-${String(bestEntry.step).padStart(8, '0')}.safetensors`));
    for (const p of model.params()) expect(best.model.getParam(p.name)).toEqual(atBest.model.getParam(p.name));
    best.model.dispose();
    atBest.model.dispose();
    model.dispose();
  });

  it('keepBest also takes its validation losses from validationSplit', async () => {
    const dir = freshDir();
    const model = regressor();
    const result = await fit(model, batches, { ...base, epochs: 2, validationSplit: 0.34, checkpoint: { dir, keepBest: true } });
    const history = await readHistory(dir);
    const valLosses = result.history.map((e) => e.valLoss);
    expect(valLosses.every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
    expect(history.map((e) => e.valLoss)).toEqual(valLosses);
    const bestEntry = history.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
    const best = await loadCheckpoint(join(dir, BEST_CHECKPOINT));
    expect(best.step).toBe(bestEntry.step);
    best.model.dispose();
    model.dispose();
  });

  it('a resumed run keeps the best model unless its validation loss beats the recorded best', async () => {
    const dir = freshDir();
    const model = regressor();
    await fit(model, batches, { ...base, epochs: 2, validationData: validation, checkpoint: { dir, keepBest: true } });
    const history = await readHistory(dir);
    const bestStep = history.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a)).step;
    model.dispose();
    const restored = (await new CheckpointManager({ directory: dir }).restore())!;
    // Learning rate 0: the model does not change, so its validation loss only ties the last epoch's.
    await fit(restored.model, batches, { ...base, epochs: 1, learningRate: 0, validationData: validation, checkpoint: { dir, keepBest: true } });
    const after = await readHistory(dir);
    expect(after.length).toBe(3);
    expect(after[2].valLoss).toBe(history[1].valLoss);
    const best = await loadCheckpoint(join(dir, BEST_CHECKPOINT));
    expect(best.step).toBe(bestStep);
    best.model.dispose();
    restored.model.dispose();
  });

  it('a run resumed from its checkpoint continues exactly where it left off', async () => {
    const straight = regressor();
    const straightDir = freshDir();
    await fit(straight, batches, { ...base, epochs: 2, checkpoint: { dir: straightDir } });

    const dir = freshDir();
    const first = regressor();
    await fit(first, batches, { ...base, epochs: 1, checkpoint: { dir } });
    first.dispose();
    const restored = (await new CheckpointManager({ directory: dir }).restore())!;
    expect(restored.step).toBe(6);
    await fit(restored.model, batches, { ...base, epochs: 1, checkpoint: { dir } });
    for (const p of straight.params()) expect(restored.model.getParam(p.name)).toEqual(straight.getParam(p.name));
    expect(steps(dir)).toEqual(steps(straightDir));
    expect((await readHistory(dir)).map((e) => [e.step, e.loss])).toEqual((await readHistory(straightDir)).map((e) => [e.step, e.loss]));
    straight.dispose();
    restored.model.dispose();
  });

  it('resuming from an earlier step drops the history after it; newer checkpoints are refused', async () => {
    const dir = freshDir();
    const model = regressor();
    await fit(model, batches, { ...base, checkpoint: { dir, keep: 0 } });
    expect((await readHistory(dir)).map((e) => e.step)).toEqual([6, 12, 18]);
    const early = await loadCheckpoint(join(dir, 'ckpt-00000006.safetensors'));
    await expect(fit(early.model, batches, { ...base, epochs: 1, checkpoint: { dir } })).rejects.toThrow(
      /holds a checkpoint at step 18, past the model's step 6/,
    );
    rmSync(join(dir, 'ckpt-00000012.safetensors'));
    rmSync(join(dir, 'ckpt-00000018.safetensors'));
    await fit(early.model, batches, { ...base, epochs: 1, checkpoint: { dir } });
    expect((await readHistory(dir)).map((e) => e.step)).toEqual([6, 12]);
    early.model.dispose();
    model.dispose();
  });

  it('validates the option, naming the field, before training', async () => {
    const model = regressor();
    const before = model.getParam('dense.weight');
    const dir = freshDir();
    const cases: [unknown, RegExp, ErrorConstructor][] = [
      ['ckpt', /options\.checkpoint must be an object/, TypeError],
      [{}, /options\.checkpoint\.dir must be a non-empty string/, TypeError],
      [{ dir, every: 0 }, /options\.checkpoint\.every must be in \[1,/, RangeError],
      [{ dir, every: 'step' }, /options\.checkpoint\.every must be a positive integer \(steps\) or 'epoch'/, TypeError],
      [{ dir, every: 1.5 }, /options\.checkpoint\.every must be an integer/, TypeError],
      [{ dir, keep: -1 }, /options\.checkpoint\.keep must be in \[0,/, RangeError],
      [{ dir, keepBest: 'yes' }, /options\.checkpoint\.keepBest must be a boolean/, TypeError],
      [{ dir, keepBest: true }, /keepBest compares validation losses: it needs options\.validationData or options\.validationSplit/, TypeError],
      [{ dir, vocabulary: {} }, /options\.checkpoint\.vocabulary must be a Vocabulary/, TypeError],
      [{ dir, kep: 2 }, /did you mean 'keep'/, TypeError],
    ];
    for (const [checkpoint, message, kind] of cases) {
      const attempt = fit(model, batches, { ...base, checkpoint: checkpoint as FitOptions['checkpoint'] });
      await expect(attempt).rejects.toThrow(message);
      await expect(fit(model, batches, { ...base, checkpoint: checkpoint as FitOptions['checkpoint'] })).rejects.toBeInstanceOf(kind);
    }
    const notAModel = { trainStep: model.trainStep.bind(model), evaluate: model.evaluate.bind(model), resetState() {}, params: () => [], getParam: () => new Float64Array(), setParam() {} };
    await expect(fit(notAModel, batches, { ...base, checkpoint: { dir } })).rejects.toThrow(/options\.checkpoint saves Model checkpoints/);
    expect(model.getParam('dense.weight')).toEqual(before);
    expect(existsSync(dir)).toBe(false);
    model.dispose();
  });
});
