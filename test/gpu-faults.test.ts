// GPU faults (issue 7): a model too big for device memory fails with a catchable Error carrying
// CUDA's message, frees what it took, and the process goes on with a smaller model on the GPU
// and on the CPU. Skipped with the probe's reason where no GPU is usable.
import { describe, expect, it } from 'vitest';
import { Model, type ModelConfig } from '../lib/index.js';
import { loadNative } from '../lib/native.js';

const addon = loadNative({ backend: 'cpu' });
const gpuReason = !addon.buildInfo().cuda ? 'this build has no CUDA part' : addon.cudaProbe().ok ? '' : addon.cudaProbe().reason;
if (gpuReason) console.log(`[gpu-faults] SKIPPED: ${gpuReason}`);

const small: ModelConfig = { input: { type: 'oneHot', vocabSize: 5 }, layers: [{ units: 8 }], dense: [{ units: 5 }] };
const batch = { inputs: new Int32Array([1, 2, 3, 4]), targets: new Int32Array([2, 3, 4, 0]), batchSize: 2, steps: 2 };

describe.skipIf(gpuReason !== '')(`GPU faults${gpuReason ? ` [skipped: ${gpuReason}]` : ''}`, () => {
  it('out of device memory is a catchable error; smaller models then work on the GPU and the CPU', async () => {
    // 2^24 x 2^11 embedding: 32 Gi parameters, 128 GiB per arena, more than any single GPU has.
    const huge: ModelConfig = { ...small, input: { type: 'embedding', vocabSize: 2 ** 24, dim: 2 ** 11 }, backend: 'cuda' };
    for (let i = 0; i < 3; i++) expect(() => Model.create(huge)).toThrow(/memory|cudaErrorMemoryAllocation/i);
    const gpu = Model.create({ ...small, backend: 'cuda' });
    const cpu = Model.create(small);
    expect((await gpu.trainStep(batch)).loss).toBeGreaterThan(0);
    expect((await cpu.trainStep(batch)).loss).toBeGreaterThan(0);
  });
});
