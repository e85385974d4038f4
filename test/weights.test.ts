// Weights-only files (saveWeights/loadWeights, `fusedrnn export`) and the checkpoint I/O fixes of
// #18: parent directories created, errors naming the caller's path, decodeCheckpoint's inputs.
// The PyTorch round trip is in weights-interop.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointFormatError,
  Model,
  type ModelConfig,
  WEIGHTS_FORMAT,
  decodeCheckpoint,
  decodeSafetensors,
  encodeCheckpoint,
  loadCheckpoint,
  loadWeights,
  saveCheckpoint,
  saveWeights,
} from '../lib/index.js';
import { randInts, repoRoot, rng } from './helpers/numeric.js';

const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-weights-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const V = 7;
const config: ModelConfig = {
  input: { type: 'embedding', vocabSize: V, dim: 3 },
  layers: [{ cell: 'lstm', units: 4 }, { cell: 'lstm', units: 4 }],
  dense: [{ units: V }],
  seed: 9,
};
const batch = { inputs: randInts(12, V, rng(1)), targets: randInts(12, V, rng(2)), batchSize: 2, steps: 6 };

async function trained(cfg: ModelConfig = config): Promise<Model> {
  const model = Model.create(cfg);
  for (let i = 0; i < 2; i++) await model.trainStep(batch, { learningRate: 0.05 });
  return model;
}

describe('saveCheckpoint paths and errors', () => {
  it('creates missing parent directories', async () => {
    const model = Model.create(config);
    const path = join(dir, 'a', 'b', 'model.safetensors');
    await saveCheckpoint(path, model);
    expect(decodeCheckpoint(readFileSync(path)).step).toBe(0);
    model.dispose();
  });

  it("names the caller's path, not the temp file, when the write fails", async () => {
    const model = Model.create(config);
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const path = join(blocker, 'model.safetensors');  // a directory cannot be made under a file
    const error = (await saveCheckpoint(path, model).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(error.message).toContain(path);
    expect(error.message).not.toMatch(/\.tmp-/);
    expect(['EEXIST', 'ENOTDIR']).toContain(error.code);  // the errno fields survive
    await expect(saveWeights(model, path)).rejects.toThrow(path);
    // The rename fails too when the target is a directory: again the caller's path only.
    const rename = (await saveCheckpoint(dir, model).catch((e: unknown) => e)) as Error;
    expect(rename.message).toContain(dir);
    expect(rename.message).not.toMatch(/\.tmp-/);
    model.dispose();
  });
});

it("loading errors name the caller's path", async () => {
  const missing = join(dir, 'missing', 'model.safetensors');
  await expect(loadCheckpoint(missing)).rejects.toThrow(missing);
  const model = Model.create(config);
  await expect(loadWeights(model, missing)).rejects.toThrow(missing);
  model.dispose();
  const corrupt = join(dir, 'corrupt.safetensors');
  writeFileSync(corrupt, 'not a checkpoint');
  await expect(loadCheckpoint(corrupt)).rejects.toThrow(new RegExp(`^${corrupt.replace(/[.]/g, '\\.')} is not a valid safetensors file`));
});

describe('decodeCheckpoint inputs', () => {
  const model = Model.create(config);
  const bytes = encodeCheckpoint(model);
  const expected = model.getParam('rnn.weight_hh_l1');
  model.dispose();

  const forms: [string, ArrayBuffer | Uint8Array][] = [
    ['Buffer', Buffer.from(bytes)],
    ['ArrayBuffer', bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer],
    ['Uint8Array at an offset', (() => {
      const big = new Uint8Array(bytes.length + 13);
      big.set(bytes, 13);
      return big.subarray(13);
    })()],
  ];
  for (const [name, input] of forms) {
    it(`reads a ${name}`, () => {
      const { model: m } = decodeCheckpoint(input);
      expect(m.getParam('rnn.weight_hh_l1')).toEqual(expected);
      m.dispose();
    });
  }

  it('rejects anything else with a TypeError naming the argument', () => {
    for (const bad of ['text', [1, 2], new Float32Array(4), null, new DataView(new ArrayBuffer(8))]) {
      expect(() => decodeCheckpoint(bad as unknown as Uint8Array)).toThrow(TypeError);
      expect(() => decodeCheckpoint(bad as unknown as Uint8Array)).toThrow(/bytes must be an ArrayBuffer, a Uint8Array or a Buffer/);
    }
  });
});

describe('saveWeights / loadWeights', () => {
  it('writes only the model tensors, in the model dtype, and loads them back exactly', async () => {
    const model = await trained({ ...config, dtype: 'float64' });
    const path = join(dir, 'deep', 'w.safetensors');
    await saveWeights(model, path);
    const file = decodeSafetensors(readFileSync(path));
    expect([...file.tensors.keys()].sort()).toEqual(model.params().map((p) => p.name).sort());
    expect(file.metadata.format).toBe(WEIGHTS_FORMAT);
    expect([...file.tensors.values()].every((t) => t.dtype === 'F64')).toBe(true);

    const other = Model.create({ ...config, dtype: 'float64', seed: 1 });
    const before = await other.predict(batch);
    await loadWeights(other, path);
    const after = await other.predict(batch);
    expect(after).toEqual(await model.predict(batch));
    expect(after).not.toEqual(before);
    model.dispose();
    other.dispose();
  });

  it('refuses a mismatched file naming the tensor, leaving the model unchanged', async () => {
    const small = await trained({ ...config, layers: [{ units: 4 }, { units: 5 }] });
    const path = join(dir, 'small.safetensors');
    await saveWeights(small, path);
    const model = await trained();
    const snapshot = model.params().map((p) => model.getParam(p.name));
    await expect(loadWeights(model, path)).rejects.toThrow(/rnn\.weight_ih_l1 has shape \[20,4\], the model needs \[16,4\]/);
    const twoLayers = join(dir, 'two-layers.safetensors');
    await saveWeights(model, twoLayers);
    const oneLayer = Model.create({ ...config, layers: [{ units: 4 }] });
    await expect(loadWeights(oneLayer, twoLayers)).rejects.toThrow(CheckpointFormatError);
    await expect(loadWeights(oneLayer, twoLayers)).rejects.toThrow(/no parameter for: rnn\.weight_ih_l1/);
    expect(model.params().map((p) => model.getParam(p.name))).toEqual(snapshot);
    small.dispose();
    model.dispose();
    oneLayer.dispose();
  });

  it('refuses cells PyTorch has no module for, saying so', async () => {
    const peephole = Model.create({ ...config, layers: [{ units: 4, peephole: true }] });
    await expect(saveWeights(peephole, join(dir, 'p.safetensors'))).rejects.toThrow(/peephole LSTM, which PyTorch has no module for/);
    const gru = Model.create({ ...config, layers: [{ cell: 'gru', units: 4, resetBefore: true }] });
    await expect(saveWeights(gru, join(dir, 'g.safetensors'))).rejects.toThrow(/resetBefore.*PyTorch has no module for/);
    await expect(loadWeights(gru, join(dir, 'g.safetensors'))).rejects.toThrow(TypeError);
    peephole.dispose();
    gru.dispose();
  });

  it('rejects a bad path with a TypeError', async () => {
    const model = Model.create(config);
    await expect(saveWeights(model, '' as string)).rejects.toThrow(/path must be a non-empty string/);
    await expect(loadWeights(model, 3 as unknown as string)).rejects.toThrow(TypeError);
    model.dispose();
  });
});

describe('fusedrnn export', () => {
  it("writes a checkpoint's weights without the optimizer state", async () => {
    const model = await trained();
    const checkpoint = join(dir, 'ckpt.safetensors');
    await saveCheckpoint(checkpoint, model);
    const out = join(dir, 'exported', 'weights.safetensors');
    execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'export', checkpoint, out], { encoding: 'utf8' });
    const names = [...decodeSafetensors(readFileSync(out)).tensors.keys()];
    expect(names.some((n) => n.startsWith('optimizer.'))).toBe(false);
    expect(names.sort()).toEqual(model.params().map((p) => p.name).sort());
    const loaded = Model.create({ ...config, seed: 2 });
    await loadWeights(loaded, out);
    expect(await loaded.predict(batch)).toEqual(await model.predict(batch));
    model.dispose();
    loaded.dispose();
  });
});
