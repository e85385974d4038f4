// Leaks: 20 000 training steps of a small model and 100 000 sampled characters keep RSS flat;
// dispose() frees native memory at once; models that are never disposed are freed by the GC.
// Runs in a child process with --expose-gc so RSS reflects this work alone.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Model } from '../lib/index.js';
import { loadNative, packageRoot } from '../lib/native.js';
import { nativeBackendOptions, nativeConfig, nativeSampleOptions, nativeTrainOptions } from './helpers/native-structs.js';

const addon = loadNative({ backend: 'cpu' });
const gpuReason = !addon.buildInfo().cuda ? 'this build has no CUDA part' : addon.cudaProbe().ok ? '' : addon.cudaProbe().reason;

const MB = 1024 * 1024;

function runChild(script: string): Record<string, number> {
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], {
    cwd: packageRoot,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, FUSEDRNN_ROOT: packageRoot },
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const prelude = `
  const addon = require(require.resolve('node-gyp-build', { paths: [process.env.FUSEDRNN_ROOT] }))(process.env.FUSEDRNN_ROOT);
  const rss = () => { global.gc(); global.gc(); return process.memoryUsage().rss; };
  const config = ${JSON.stringify(
    nativeConfig({
      input: { type: 'embedding', vocabSize: 20, dim: 8 },
      layers: [{ cell: 'lstm', units: 32, dropoutOutput: 0.1 }, { cell: 'lstm', units: 32 }],
      dense: [{ units: 20 }],
      seed: 1,
    }),
  )};
  const big = ${JSON.stringify(
    nativeConfig({ input: { type: 'embedding', vocabSize: 20, dim: 8 }, layers: [{ cell: 'lstm', units: 700 }], dense: [{ units: 20 }], init: 'pytorch' }),
  )};
  const where = ${JSON.stringify(nativeBackendOptions)};
  const train = ${JSON.stringify(nativeTrainOptions({ learningRate: 1e-3, clipNorm: 5, carryState: true }))};
  const sample = (o) => ({ ...${JSON.stringify(nativeSampleOptions())}, ...o });
  const B = 8, T = 16;
  const batch = (k) => ({ batchSize: B, steps: T,
    inputs: Int32Array.from({ length: B * T }, (_, i) => (i * 7 + k) % 20),
    targets: Int32Array.from({ length: B * T }, (_, i) => (i * 3 + k) % 20) });
`;

describe('memory', () => {
  it('20 000 training steps (2xLSTM H=32, B=8, T=16) and 100 000 sampled characters keep RSS flat', () => {
    const out = runChild(`${prelude}
      (async () => {
        const m = new addon.Model(config, 'cpu', 'float32', where);
        for (let i = 0; i < 1000; i++) await m.trainStep(batch(i), train);
        await m.generate(new Int32Array([1, 2, 3]), 1, 1000, sample({ seed: 1 }));
        const start = rss();
        const bytesStart = m.info().nativeBytes;
        for (let i = 0; i < 20000; i++) {
          const r = i % 2 ? m.trainStepSync(batch(i), train)
                          : await m.trainStep(batch(i), train);
          if (!Number.isFinite(r.loss)) throw new Error('non-finite loss');
        }
        const afterTraining = rss();
        let drawn = 0;
        for (let i = 0; i < 100; i++) drawn += (await m.generate(new Int32Array([1, 2, 3]), 1, 1000, sample({ seed: i, temperature: 0.9 }))).length;
        const end = rss();
        console.log(JSON.stringify({ start, afterTraining, end, drawn, bytesStart, bytesEnd: m.info().nativeBytes }));
      })();
    `);
    console.log(`RSS: start ${(out.start / MB).toFixed(1)} MB, after 20k steps ${(out.afterTraining / MB).toFixed(1)} MB, after ${out.drawn} chars ${(out.end / MB).toFixed(1)} MB`);
    expect(out.drawn).toBe(100_000);
    expect(out.bytesEnd).toBe(out.bytesStart); // the native allocations themselves did not grow
    // Tolerance: 4 MB over the whole run (a leak of one activation set per step would be GBs).
    expect(out.end - out.start).toBeLessThan(4 * MB);
  });

  it.skipIf(gpuReason !== '')(`20 000 training steps and 100 000 sampled characters on the GPU keep device memory flat${gpuReason ? ` [skipped: ${gpuReason}]` : ''}`, async () => {
    const model = Model.create({
      input: { type: 'embedding', vocabSize: 20, dim: 8 },
      layers: [{ units: 32, dropoutOutput: 0.1 }, { units: 32 }],
      dense: [{ units: 20 }],
      backend: 'cuda',
    });
    const B = 8;
    const T = 16;
    const batch = (k: number) => ({
      inputs: Int32Array.from({ length: B * T }, (_, i) => (i * 7 + k) % 20),
      targets: Int32Array.from({ length: B * T }, (_, i) => (i * 3 + k) % 20),
      batchSize: B,
      steps: T,
    });
    for (let i = 0; i < 100; i++) await model.trainStep(batch(i), { carryState: true });
    await model.generate(Int32Array.from([1, 2, 3]), 1000, { seed: 1 });
    const start = model.info().nativeBytes;
    for (let i = 0; i < 20_000; i++) await model.trainStep(batch(i), { carryState: true });
    for (let i = 0; i < 100; i++) await model.generate(Int32Array.from([1, 2, 3]), 1000, { seed: i });
    expect(model.info().nativeBytes).toBe(start);
  });

  it('dispose() frees at once, forgotten models are freed by the GC, and a disposed model throws', () => {
    // RSS cannot show a single free (the allocator keeps some pages), so each claim is a loop of
    // 30 models that would hold 30x one model's memory if it were not freed. No explicit gc() in
    // the forgotten loop: the native memory each model reports must create the GC pressure.
    const out = runChild(`${prelude}
      const settle = () => new Promise((resolve) => setImmediate(resolve));
      (async () => {
        await settle();
        const base = rss();
        const first = new addon.Model(big, 'cpu', 'float32', where);
        first.evaluateSync(batch(0));
        const held = rss();
        first.dispose();
        let threw = 0;
        try { first.trainStepSync(batch(0), train); } catch (e) { threw = /disposed/.test(e.message) ? 1 : 0; }
        for (let i = 0; i < 30; i++) { const m = new addon.Model(big, 'cpu', 'float32', where); m.evaluateSync(batch(i)); m.dispose(); }
        const disposed = rss();
        for (let i = 0; i < 30; i++) { new addon.Model(big, 'cpu', 'float32', where).evaluateSync(batch(i)); await settle(); }
        await settle();
        const forgotten = rss();
        console.log(JSON.stringify({ base, held, disposed, forgotten, threw }));
      })();
    `);
    const modelBytes = out.held - out.base;
    console.log(`one model ${(modelBytes / MB).toFixed(1)} MB; after 30 disposed +${((out.disposed - out.base) / MB).toFixed(1)} MB, after 30 forgotten +${((out.forgotten - out.base) / MB).toFixed(1)} MB`);
    expect(modelBytes).toBeGreaterThan(10 * MB); // LSTM H=700: 2M parameters (moments stay untouched zero pages)
    expect(out.disposed - out.base).toBeLessThan(3 * modelBytes);
    // V8 collects when reported external memory grows by tens of MB, so a few stay alive at a time.
    expect(out.forgotten - out.base).toBeLessThan(10 * modelBytes);
    expect(out.threw).toBe(1);
  });
});
