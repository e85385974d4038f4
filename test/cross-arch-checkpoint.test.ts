// A checkpoint written on one architecture reads back bit for bit on the other (x64 <-> arm64).
// `npm run test:arm64` (scripts/test-arm64.sh) runs this file three times over one folder,
// FUSEDRNN_CROSS_ARCH_DIR: on x64 (writes x64's checkpoint), on arm64 under qemu (reads x64's,
// writes its own), on x64 again (reads arm64's); FUSEDRNN_CROSS_ARCH_READ names the architecture
// whose checkpoint the run must read. Without the folder there is nothing to exchange with:
// vitest.config.ts leaves the file out of `npm test`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Model, type ModelConfig, Vocabulary, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../lib/index.js';
import { randInts, rng } from './helpers/numeric.js';

const dir = process.env.FUSEDRNN_CROSS_ARCH_DIR ?? '';
const readArch = process.env.FUSEDRNN_CROSS_ARCH_READ ?? '';
const vocabulary = Vocabulary.fromText('abcdefghij .');

const config: ModelConfig = {
  input: { type: 'oneHot', vocabSize: vocabulary.size },
  layers: [{ cell: 'lstm', units: 19, dropoutOutput: 0.2 }, { cell: 'gru', units: 13 }],
  dense: [{ units: vocabulary.size }],
  seed: 21,
  dtype: 'float32',
};

// Every number of the training state as its bytes (base64), so "equal" means bit for bit.
function stateBytes(model: Model) {
  const s = model.exportTrainingState();
  const b64 = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  return { params: b64(s.params), m: b64(s.m), v: b64(s.v), step: s.step, rngCounter: s.rngCounter };
}

const files = (arch: string) => ({ checkpoint: join(dir, `${arch}.safetensors`), state: join(dir, `${arch}.state.json`) });

describe.runIf(dir !== '')(`checkpoints across architectures (this one: ${process.arch})`, () => {
  it(`writes a trained checkpoint and its exact training state on ${process.arch}`, async () => {
    const model = Model.create(config);
    const r = rng(3);
    for (let s = 0; s < 4; s++) {
      const batch = { inputs: randInts(5 * 7, vocabulary.size, r), targets: randInts(5 * 7, vocabulary.size, r), batchSize: 5, steps: 7 };
      await model.trainStep(batch, { learningRate: 0.02, clipNorm: 1, carryState: true });
    }
    mkdirSync(dir, { recursive: true });
    const out = files(process.arch);
    await saveCheckpoint(out.checkpoint, model, { vocabulary, dataCursor: 4 });
    writeFileSync(out.state, JSON.stringify(stateBytes(model)));
    model.dispose();
  });

  it.runIf(readArch !== '')(`reads ${readArch}'s checkpoint bit for bit, writes it back byte for byte, and trains on`, async () => {
    const from = files(readArch);
    const bytes = readFileSync(from.checkpoint);
    const loaded = await loadCheckpoint(from.checkpoint);
    expect(stateBytes(loaded.model)).toEqual(JSON.parse(readFileSync(from.state, 'utf8')));
    expect(loaded.vocabulary?.toJSON()).toEqual(vocabulary.toJSON());
    expect(loaded.dataCursor).toBe(4);
    expect(Buffer.from(encodeCheckpoint(loaded.model, { vocabulary, dataCursor: 4 })).equals(bytes)).toBe(true);
    const r = rng(4);
    const batch = { inputs: randInts(3 * 5, vocabulary.size, r), targets: randInts(3 * 5, vocabulary.size, r), batchSize: 3, steps: 5 };
    const { loss } = await loaded.model.trainStep(batch, { learningRate: 0.02 });
    expect(Number.isFinite(loss) && loss > 0).toBe(true);
    loaded.model.dispose();
  });
});
