// The persistent recurrent kernels (cuda/rnn_persistent.cu) against the per-step ones and the
// fp64 CPU reference: both paths forced in turn through FUSEDRNN_CUDA_RECURRENT (read by the addon
// on every call), the stats counters proving which path ran. The two paths compute the same sums
// in the same order (the same tile form on the same rows), so they must agree bit for bit, and
// each stays within the parity bound of the reference. Also: a layer too large for shared memory falls back (auto) or is
// refused (forced), and a barrier that never completes becomes a thrown error, not a hang.
// Skipped, with the probe's reason, where no GPU is usable.
import { afterEach, describe, expect, it } from 'vitest';
import { relErr } from './helpers/numeric.js';
import { rnnArgs, VARIANTS, type RnnCase } from './helpers/rnn-cases.js';
import { loadTestAddon, type DType } from './helpers/test-addon.js';

// The test addon throughout: the path counters must be read from the copy that ran the ops.
const addon = loadTestAddon();
const reason = !addon.buildInfo().cuda ? 'this build has no CUDA part (built without nvcc)' : addon.cudaProbe().ok ? '' : addon.cudaProbe().reason;
if (reason) console.log(`[cuda-persistent] SKIPPED: ${reason}`);

type Out = Record<string, Float64Array | Int32Array | number>;
type Path = 'persistent' | 'stepwise';
const ENV = ['FUSEDRNN_CUDA_RECURRENT', 'FUSEDRNN_CUDA_BARRIER_TIMEOUT_MS', 'FUSEDRNN_TEST_BARRIER_SKIP_BLOCK'];
afterEach(() => {
  for (const k of ENV) delete process.env[k];
});

function run(op: 'rnnForward' | 'rnnBackward', dtype: DType, args: Record<string, unknown>): Out {
  return (addon.ops[op] as (d: DType, a: Record<string, unknown>) => Out)(dtype, args);
}

// Runs op on CUDA with the path forced, and checks that this path (and only it) ran.
function onPath(path: Path, op: 'rnnForward' | 'rnnBackward', args: Record<string, unknown>, precision: string): Out {
  process.env.FUSEDRNN_CUDA_RECURRENT = path;
  const before = addon.cudaRecurrentStats();
  const out = run(op, 'float32', { ...args, backend: 'cuda', precision, poison: true });
  const after = addon.cudaRecurrentStats();
  const ran = path === 'persistent' ? after.persistentForward - before.persistentForward : after.stepwiseForward - before.stepwiseForward;
  const other = path === 'persistent' ? after.stepwiseForward - before.stepwiseForward : after.persistentForward - before.persistentForward;
  expect(ran, `${path} forward launches`).toBe(1);
  expect(other, `other path's forward launches`).toBe(0);
  if (op === 'rnnBackward') {
    const back = path === 'persistent' ? after.persistentBackward - before.persistentBackward : after.stepwiseBackward - before.stepwiseBackward;
    expect(back, `${path} backward launches`).toBe(1);
  }
  return out;
}

const SHAPES: RnnCase[] = [
  { B: 1, T: 1, I: 3, H: 5 },
  { B: 3, T: 7, I: 5, H: 33 },
  { B: 17, T: 4, I: 37, H: 65 },
  { B: 33, T: 5, I: 8, H: 100 }, // 16-byte loads, two row tiles
  { B: 65, T: 3, I: 7, H: 520 }, // 16- and 32-row tiles: tensor cores in TF32
];

describe.skipIf(reason !== '')(`persistent recurrent kernels${reason ? ` [skipped: ${reason}]` : ''}`, () => {
  for (const precision of ['fp32', 'tf32']) {
    it(`${precision}: every cell, ragged lengths, both directions — persistent equals per-step and the fp64 reference`, () => {
      let seed = 300;
      for (const v of VARIANTS) {
        for (const shape of SHAPES) {
          for (const reverse of [false, true]) {
            const args = rnnArgs(v, shape, seed++, reverse);
            const label = `${v.name} ${JSON.stringify(shape)} reverse=${reverse} ${precision}`;
            const ref = run('rnnBackward', 'float64', { ...args, backend: 'cpu' });
            const stepwise = onPath('stepwise', 'rnnBackward', args, precision);
            const persistent = onPath('persistent', 'rnnBackward', args, precision);
            for (const key of Object.keys(ref)) {
              const p = persistent[key] as Float64Array;
              expect(Array.from(p), `${label}: ${key} bit for bit`).toEqual(Array.from(stepwise[key] as Float64Array));
              // TF32 rounding can flip a relu's pre-activation sign near 0, and with it the gradient
              // of that unit: the reference bound only holds for smooth cells there.
              if (precision === 'fp32' || v.cell !== 'rnn_relu')
                expect(relErr(p, ref[key] as Float64Array), `${label}: ${key} vs reference`).toBeLessThanOrEqual(precision === 'fp32' ? 1e-4 : 3e-3);
            }
          }
        }
      }
    });
  }

  it('a layer whose W_hh tiles exceed shared memory runs step by step in auto mode and is refused when forced', () => {
    const v = VARIANTS.find((x) => x.name === 'lstm')!;
    const args = rnnArgs(v, { B: 2, T: 3, I: 4, H: 1800 }, 7, false); // 32 rows × 1.8k floats > 227 KB
    const ref = run('rnnBackward', 'float64', { ...args, backend: 'cpu' });
    const before = addon.cudaRecurrentStats();
    const got = run('rnnBackward', 'float32', { ...args, backend: 'cuda', precision: 'fp32', poison: true });
    const after = addon.cudaRecurrentStats();
    expect(after.stepwiseForward - before.stepwiseForward).toBe(1);
    expect(after.stepwiseBackward - before.stepwiseBackward).toBe(1);
    expect(after.persistentForward - before.persistentForward).toBe(0);
    for (const key of Object.keys(ref)) expect(relErr(got[key] as Float64Array, ref[key] as Float64Array), key).toBeLessThanOrEqual(1e-4);
    process.env.FUSEDRNN_CUDA_RECURRENT = 'persistent';
    expect(() => run('rnnForward', 'float32', { ...args, backend: 'cuda' })).toThrow(/does not fit the persistent kernel/);
    process.env.FUSEDRNN_CUDA_RECURRENT = 'sideways';
    expect(() => run('rnnForward', 'float32', { ...args, backend: 'cuda' })).toThrow(/FUSEDRNN_CUDA_RECURRENT must be 'auto', 'persistent' or 'stepwise'/);
  });

  it('a block that never reaches the barrier becomes a thrown error; the next call runs normally', () => {
    const v = VARIANTS.find((x) => x.name === 'gru')!;
    const args = rnnArgs(v, { B: 9, T: 6, I: 5, H: 40 }, 11, false);
    process.env.FUSEDRNN_CUDA_BARRIER_TIMEOUT_MS = '50';
    process.env.FUSEDRNN_TEST_BARRIER_SKIP_BLOCK = '1';
    process.env.FUSEDRNN_CUDA_RECURRENT = 'persistent';
    expect(() => run('rnnForward', 'float32', { ...args, backend: 'cuda' })).toThrow(/grid barrier timed out/);
    delete process.env.FUSEDRNN_TEST_BARRIER_SKIP_BLOCK;
    const ref = run('rnnForward', 'float64', { ...args, backend: 'cpu' });
    const got = onPath('persistent', 'rnnForward', args, 'fp32');
    for (const key of Object.keys(ref)) expect(relErr(got[key] as Float64Array, ref[key] as Float64Array), key).toBeLessThanOrEqual(1e-4);
  });
});
