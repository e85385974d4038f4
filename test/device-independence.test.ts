// A checkpoint does not record where its model ran: written by a CUDA model it loads on the CPU
// with the same logits, and a CPU checkpoint loads onto the GPU. The CPU round trip runs
// everywhere; the GPU halves are skipped with the probe's reason where no GPU is usable.
import { describe, expect, it } from 'vitest';
import { Model, type ModelConfig, decodeCheckpoint, encodeCheckpoint } from '../lib/index.js';
import { loadNative } from '../lib/native.js';
import { randInts, relErr, rng } from './helpers/numeric.js';

const addon = loadNative({ backend: 'cpu' });
const gpuReason = !addon.buildInfo().cuda ? 'this build has no CUDA part' : addon.cudaProbe().ok ? '' : addon.cudaProbe().reason;
if (gpuReason) console.log(`[device-independence] GPU halves SKIPPED: ${gpuReason}`);

const V = 9;
const base: ModelConfig = {
  input: { type: 'embedding', vocabSize: V, dim: 4 },
  layers: [{ cell: 'lstm', units: 10 }, { cell: 'gru', units: 6 }],
  dense: [{ units: V }],
  seed: 8,
};
const random = rng(31);
const batch = { inputs: randInts(12, V, random), targets: randInts(12, V, random), batchSize: 3, steps: 4 };

async function trainedLogits(config: ModelConfig) {
  const model = Model.create(config);
  for (let i = 0; i < 3; i++) await model.trainStep(batch, { learningRate: 0.01 });
  return { model, logits: await model.predict(batch) };
}

describe('device independence of checkpoints', () => {
  it('the stored config carries no placement, and a placement can be chosen on load', async () => {
    const { model, logits } = await trainedLogits({ ...base, backend: 'cpu' });
    const bytes = encodeCheckpoint(model);
    const loaded = decodeCheckpoint(bytes, 'memory', { backend: 'cpu' });
    expect(loaded.model.config.backend).toBe('cpu');
    expect(relErr(await loaded.model.predict(batch), logits)).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0)))).toString('utf8'));
    expect(JSON.parse(header.__metadata__.config).backend).toBeUndefined();
  });

  it.skipIf(gpuReason !== '')(`GPU -> CPU and CPU -> GPU give the same logits${gpuReason ? ` [skipped: ${gpuReason}]` : ''}`, async () => {
    const onGpu = await trainedLogits({ ...base, backend: 'cuda', precision: 'fp32' });
    const toCpu = decodeCheckpoint(encodeCheckpoint(onGpu.model), 'gpu checkpoint', { backend: 'cpu' });
    expect(relErr(await toCpu.model.predict(batch), onGpu.logits)).toBeLessThan(1e-5);
    const onCpu = await trainedLogits(base);
    const toGpu = decodeCheckpoint(encodeCheckpoint(onCpu.model), 'cpu checkpoint', { backend: 'cuda', precision: 'fp32' });
    expect(relErr(await toGpu.model.predict(batch), onCpu.logits)).toBeLessThan(1e-5);
  });
});
