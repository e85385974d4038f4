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
  it('out of device memory is a catchable error; the same model then trains a smaller batch, and the CPU works', async () => {
    // H=1024 over a 4096x4096 batch: each layer's outputs alone are 64 GiB on the device, so the
    // activations cannot fit on any single GPU, while the host side stays small (64 MiB inputs).
    const model = Model.create({ input: { type: 'features', size: 1 }, layers: [{ units: 1024 }], dense: [{ units: 1 }], loss: 'mse', backend: 'cuda' });
    const B = 4096;
    const T = 4096;
    const huge = { inputs: new Float32Array(B * T).fill(0.5), targets: new Float32Array(B * T).fill(0.1), batchSize: B, steps: T };
    // Over the device's total memory the budget refuses the batch before any native work...
    await expect(model.trainStep(huge)).rejects.toThrow(RangeError);
    await expect(model.trainStep(huge)).rejects.toThrow(/batch\.batchSize × batch\.steps = 4096 × 4096: .*memory budget/);
    // ...and with the budget lifted, CUDA's own allocation failure is a catchable error too.
    process.env.FUSEDRNN_MEMORY_BUDGET = String(2 ** 60);
    try {
      for (let i = 0; i < 2; i++) await expect(model.trainStep(huge)).rejects.toThrow(/memory|cudaErrorMemoryAllocation/i);
    } finally {
      delete process.env.FUSEDRNN_MEMORY_BUDGET;
    }
    const fits = { inputs: new Float32Array(8).fill(0.5), targets: new Float32Array(8).fill(0.1), batchSize: 2, steps: 4 };
    expect((await model.trainStep(fits)).loss).toBeGreaterThan(0);
    expect((await Model.create(small).trainStep(batch)).loss).toBeGreaterThan(0);
  });
});
