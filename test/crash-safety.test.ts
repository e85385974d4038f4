// Crash safety of checkpoints: a child process trains and saves repeatedly, resuming from the
// latest checkpoint each time it starts; the parent SIGKILLs it at random moments. After every
// kill, every listed checkpoint loads (no half-written file is ever taken for a checkpoint) and
// the latest is at least as new as the last save the child reported complete.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointManager, loadCheckpoint } from '../lib/index.js';
import { packageRoot } from '../lib/native.js';
import { rng } from './helpers/numeric.js';

const KILLS = 12;
const dist = join(packageRoot, 'dist', 'index.js');
const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ~10 MB per checkpoint (weights and both Adam moments), so kills often land mid-write.
const child = `
  const { Model, CheckpointManager } = await import(${JSON.stringify(dist)});
  const manager = new CheckpointManager({ directory: process.argv[1], maxToKeep: 3 });
  const restored = await manager.restore();
  const model = restored ? restored.model : Model.create({
    input: { type: 'oneHot', vocabSize: 30 }, layers: [{ cell: 'lstm', units: 256 }, { cell: 'lstm', units: 256 }],
    dense: [{ units: 30 }], seed: 1, init: 'pytorch' });
  let step = restored ? restored.step : 0;
  process.stdout.write('start ' + step + '\\n');
  const batch = { inputs: Int32Array.from({ length: 8 }, (_, i) => i), targets: Int32Array.from({ length: 8 }, (_, i) => i + 1), batchSize: 2, steps: 4 };
  for (;;) {
    await model.trainStep(batch, { learningRate: 1e-3 });
    step += 1;
    await manager.save(model, step);
    process.stdout.write('saved ' + step + '\\n');
  }
`;

// Kills after delayMs, or (duringWrite) the moment a save's temp file appears, so some kills land
// between the temp file's creation and its rename. The delay counts from the moment the child has
// started (and, with afterFirstSave, from its first completed save), never from the spawn: on a busy
// machine importing the package and building the model can take longer than any fixed delay, and
// whether a save completes must not depend on how busy the machine is.
function runUntilKilled(delayMs: number, duringWrite: boolean, afterFirstSave: boolean): Promise<{ saved: number; started: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    p.stdout.on('data', (d) => {
      out += d;
      if (!timer && (afterFirstSave ? out.includes('saved') : out.includes('start'))) timer = setTimeout(() => p.kill('SIGKILL'), delayMs);
    });
    p.stderr.on('data', (d) => (err += d));
    const watcher = duringWrite
      ? watch(dir, (_event, name) => {
          if (name?.includes('.tmp-') && out.includes('saved')) p.kill('SIGKILL');
        })
      : undefined;
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      watcher?.close();
      if (signal !== 'SIGKILL') return reject(new Error(`child exited on its own (${code}): ${err}`));
      const saved = [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
      const started = Number(/start (\d+)/.exec(out)?.[1] ?? -1);
      resolve({ saved: saved.length ? saved[saved.length - 1] : -1, started });
    });
  });
}

describe.runIf(existsSync(dist))('checkpoint crash safety', () => {
  it(`survives ${KILLS} SIGKILLs at random moments during repeated saves`, async () => {
    const random = rng(99);
    const manager = new CheckpointManager({ directory: dir, maxToKeep: 3 });
    let lastSaved = 0;
    let tempFilesSeen = 0;
    for (let k = 0; k < KILLS; k++) {
      // The first child always completes a save, so the sweep below has a checkpoint to restore.
      const { saved, started } = await runUntilKilled(400 + Math.floor(random() * 1600), k % 2 === 1, k === 0);
      if (started >= 0) expect(started).toBeGreaterThanOrEqual(lastSaved); // resumed from the newest complete save
      if (saved > 0) lastSaved = saved;
      const entries = await manager.list();
      for (const e of entries) {
        const ckpt = await loadCheckpoint(e.path); // throws on a torn file
        expect(ckpt.step).toBe(e.step);
        ckpt.model.dispose();
      }
      if (lastSaved > 0) expect(entries[entries.length - 1].step).toBeGreaterThanOrEqual(lastSaved);
      // A torn write leaves its temp file behind (never listed). How many are there at a given
      // moment depends on scheduling (a child killed before its first save never swept the one
      // before it), so they are only counted here; the sweep is checked below.
      tempFilesSeen += readdirSync(dir).filter((n) => n.includes('.tmp-')).length;
    }
    console.log(`crash safety: ${KILLS} kills survived, newest step ${lastSaved}, torn temp files seen: ${tempFilesSeen}`);
    expect(lastSaved).toBeGreaterThan(0);
    // Whatever the kills left, plus a torn write planted for certain (a dead writer's name and
    // half a file), the next completed save sweeps every dead writer's temp file.
    const dead = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => dead.on('exit', () => resolve(dead.pid!)));
    writeFileSync(join(dir, `.ckpt-00000001.safetensors.tmp-${deadPid}-0000beef`), Buffer.alloc(1000, 7));
    expect((await manager.list()).filter((e) => e.path.includes('.tmp-'))).toEqual([]);  // never listed
    const restored = await manager.restore();
    await manager.save(restored!.model, lastSaved + 1000);
    restored!.model.dispose();
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe.runIf(!existsSync(dist))('checkpoint crash safety (skipped)', () => {
  it.skip(`needs dist/ (npm run build:ts): ${dist} is missing`, () => {});
});
