// Resume is exact: steps 11-20 after saving at step 10 and reloading give the losses of an
// uninterrupted run bit for bit (stateful training and dropout included). Also the manager's
// every-N saving, keep-last-K pruning and latest lookup.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointManager, Model, Vocabulary, charModelConfig, streamBatches } from '../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = 'the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. '.repeat(10);
const vocab = Vocabulary.fromText(text);
const batches = [...streamBatches(vocab.encode(text), 3, 13)].slice(0, 20);
const train = { learningRate: 0.01, carryState: true };

for (const dtype of ['float32', 'float64'] as const) {
  describe(`exact resume (${dtype})`, () => {
    it('continues bit for bit after save at step 10 and reload', async () => {
      expect(batches.length).toBe(20);
      const config = charModelConfig({ vocabSize: vocab.size, units: 9, layers: 2, dropout: 0.3, seed: 7, dtype });
      const uninterrupted = Model.create(config);
      const manager = new CheckpointManager({ directory: join(dir, dtype), every: 5, maxToKeep: 2 });
      const losses: number[] = [];
      for (let i = 0; i < batches.length; i++) {
        losses.push((await uninterrupted.trainStep(batches[i], train)).loss);
        const step = i + 1;
        if (step <= 10) await manager.maybeSave(uninterrupted, step, { vocabulary: vocab, dataCursor: { next: step } });
      }
      const saved = await manager.list();
      expect(saved.map((e) => e.step)).toEqual([5, 10]);

      const restored = await manager.restore();
      expect(restored).toBeDefined();
      const { model, dataCursor, step } = restored!;
      expect(step).toBe(10);
      const next = (dataCursor as { next: number }).next;
      const resumed: number[] = [];
      for (let i = next; i < batches.length; i++) resumed.push((await model.trainStep(batches[i], train)).loss);
      expect(resumed).toEqual(losses.slice(10));
      // A model that skips the restore of state/RNG differs, so the comparison above can fail.
      const fresh = Model.create(config);
      const freshLosses: number[] = [];
      for (let i = next; i < batches.length; i++) freshLosses.push((await fresh.trainStep(batches[i], train)).loss);
      expect(freshLosses).not.toEqual(losses.slice(10));
      for (const m of [uninterrupted, model, fresh]) m.dispose();
    });
  });
}

describe('CheckpointManager', () => {
  it('saves every N steps, keeps the newest K, ignores temp files and finds the latest', async () => {
    const m = Model.create(charModelConfig({ vocabSize: 4, units: 3, layers: 1 }));
    const manager = new CheckpointManager({ directory: join(dir, 'manager', 'nested'), every: 2, maxToKeep: 3, prefix: 'run' });
    expect(await manager.latest()).toBeUndefined();
    expect(await manager.restore()).toBeUndefined();
    for (let step = 1; step <= 9; step++) await manager.maybeSave(m, step);
    await manager.save(m, 9);
    writeFileSync(join(manager.directory, '.run-00000099.safetensors.tmp-1-abcd'), 'partial');
    expect((await manager.list()).map((e) => e.step)).toEqual([6, 8, 9]);
    expect((await manager.latest())!.path).toBe(manager.pathFor(9));
    expect(readdirSync(manager.directory).filter((n) => n.endsWith('.safetensors'))).toHaveLength(3);
    expect(() => new CheckpointManager({ directory: dir, every: -1 })).toThrow(RangeError);
    expect(() => new CheckpointManager({ directory: '' })).toThrow(TypeError);
    m.dispose();
  });
});
