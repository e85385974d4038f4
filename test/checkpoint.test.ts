// Checkpoint files: the round trip of everything resume needs, the safetensors layout itself,
// and loading damaged files (every truncation length, flipped bytes, mismatched configs): always
// a clean CheckpointFormatError, never a crash or a silently different model.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointFormatError,
  Model,
  type ModelConfig,
  Vocabulary,
  decodeCheckpoint,
  decodeSafetensors,
  encodeCheckpoint,
  encodeSafetensors,
  loadCheckpoint,
  saveCheckpoint,
} from '../lib/index.js';
import { safetensorsHeader } from '../lib/checkpoint/safetensors.js';
import { createHash } from 'node:crypto';
import { randInts, rng } from './helpers/numeric.js';

const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(dtype: 'float32' | 'float64', vocabSize = 7): ModelConfig {
  return {
    input: { type: 'embedding', vocabSize, dim: 3 },
    layers: [
      { cell: 'lstm', units: 5, dropoutOutput: 0.25 },
      { cell: 'gru', units: 3, bidirectional: false },
    ],
    dense: [{ units: 4, activation: 'tanh' }, { units: vocabSize }],
    seed: 11,
    dtype,
  };
}

function trainedModel(dtype: 'float32' | 'float64', steps = 3): Model {
  const m = Model.create(config(dtype));
  const r = rng(5);
  for (let i = 0; i < steps; i++) {
    m.trainStepSync(
      { inputs: randInts(2 * 5, 7, r), targets: randInts(2 * 5, 7, r), batchSize: 2, steps: 5 },
      { carryState: true, learningRate: 0.01 },
    );
  }
  return m;
}

describe('checkpoint round trip', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`restores parameters, Adam moments, step, RNG counter, state and metadata (${dtype})`, async () => {
      const m = trainedModel(dtype);
      const vocab = Vocabulary.fromText('abcdef\n');
      const path = join(dir, `round-${dtype}.safetensors`);
      await saveCheckpoint(path, m, { vocabulary: vocab, lrSchedule: { lr: 0.01, k: 3 }, dataCursor: { batch: 3 } });
      const back = await loadCheckpoint(path);
      expect(back.step).toBe(3);
      expect(back.formatVersion).toBe(1);
      expect(back.lrSchedule).toEqual({ lr: 0.01, k: 3 });
      expect(back.dataCursor).toEqual({ batch: 3 });
      expect(back.vocabulary?.chars).toEqual(vocab.chars);
      expect(back.model.config).toEqual(m.config);
      const a = m.exportTrainingState();
      const b = back.model.exportTrainingState();
      expect(b.params).toEqual(a.params);
      expect(b.m).toEqual(a.m);
      expect(b.v).toEqual(a.v);
      expect(b.step).toBe(a.step);
      expect(b.rngCounter).toBe(a.rngCounter);
      expect(a.rngCounter).toBeGreaterThan(0);
      expect(back.model.getState()).toEqual(m.getState());
      expect(m.getState().blocks.length).toBeGreaterThan(0);
      // The file is plain safetensors: the weights sit under their PyTorch names in the model's dtype.
      const raw = decodeSafetensors(readFileSync(path));
      const w = raw.tensors.get('rnn.weight_hh_l0')!;
      expect(w.dtype).toBe(dtype === 'float32' ? 'F32' : 'F64');
      expect(w.shape).toEqual([20, 5]);
      expect(Float64Array.from(w.data)).toEqual(m.getParam('rnn.weight_hh_l0'));
      expect(raw.tensors.has('optimizer.m.dense1.bias')).toBe(true);
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
      back.model.dispose();
      m.dispose();
    });
  }

  it('replaces an existing file atomically and keeps a frozen embedding out of the moments', async () => {
    const m = Model.create({ ...config('float32'), input: { type: 'embedding', vocabSize: 7, dim: 3, frozen: true } });
    const path = join(dir, 'frozen.safetensors');
    writeFileSync(path, 'old contents');
    await saveCheckpoint(path, m);
    const raw = decodeSafetensors(readFileSync(path));
    expect(raw.tensors.has('embedding.weight')).toBe(true);
    expect(raw.tensors.has('optimizer.m.embedding.weight')).toBe(false);
    const back = await loadCheckpoint(path);
    expect(back.model.getParam('embedding.weight')).toEqual(m.getParam('embedding.weight'));
    expect(back.vocabulary).toBeUndefined();
    m.dispose();
    back.model.dispose();
  });
});

describe('safetensors container', () => {
  it('writes the layout: LE header length, padded JSON, tensors at their offsets', () => {
    const tensors = new Map([
      ['a', { dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }],
      ['b', { dtype: 'F64' as const, shape: [1], data: Float64Array.from([-0.1]) }],
    ]);
    const bytes = encodeSafetensors(tensors, { note: 'x' });
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.b).toEqual({ dtype: 'F64', shape: [1], data_offsets: [24, 32] });
    expect(bytes.readFloatLE(8 + n + 20)).toBe(6.5);
    expect(bytes.readDoubleLE(8 + n + 24)).toBe(-0.1);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'x' });
    expect(back.tensors.get('a')!.data).toEqual(Float32Array.from([1, 2, 3, 4, 5, 6.5]));
  });

  it('rejects overlaps, gaps, unsupported dtypes and offsets past the end', () => {
    const make = (header: object, dataBytes: number) => {
      const json = Buffer.from(JSON.stringify(header));
      const out = Buffer.alloc(8 + json.length + dataBytes);
      out.writeBigUInt64LE(BigInt(json.length));
      json.copy(out, 8);
      return out;
    };
    const t = (begin: number, end: number, dtype = 'F32') => ({ dtype, shape: [(end - begin) / 4], data_offsets: [begin, end] });
    expect(() => decodeSafetensors(make({ a: t(0, 8), b: t(4, 12) }, 12))).toThrow(/overlaps/);
    expect(() => decodeSafetensors(make({ a: t(0, 4), b: t(8, 12) }, 12))).toThrow(/belong to no tensor/);
    expect(() => decodeSafetensors(make({ a: t(0, 8, 'BF16') }, 8))).toThrow(/only F32 and F64/);
    expect(() => decodeSafetensors(make({ a: t(0, 16) }, 8))).toThrow(/outside the 8 data bytes/);
    expect(() => decodeSafetensors(make({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).toThrow(/do not hold/);
    expect(() => decodeSafetensors(make({ a: t(0, 4) }, 8))).toThrow(/past its last tensor/);
    expect(() => decodeSafetensors(make({ __metadata__: { k: 1 } }, 0))).toThrow(/not a string/);
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(2n ** 63n);
    expect(() => decodeSafetensors(huge)).toThrow(CheckpointFormatError);
  });
});

describe('damaged checkpoints', () => {
  const m = Model.create({
    input: { type: 'oneHot', vocabSize: 3 },
    layers: [{ cell: 'gru', units: 2 }],
    dense: [{ units: 3 }],
    seed: 1,
  });
  const good = encodeCheckpoint(m, { vocabulary: Vocabulary.fromText('xyz'), dataCursor: 4 });
  const reference = m.exportTrainingState();

  it('loads the intact bytes', () => {
    const back = decodeCheckpoint(good);
    expect(back.model.exportTrainingState().params).toEqual(reference.params);
    back.model.dispose();
  });

  it(`fails cleanly at every truncation length (0..${good.length - 1} bytes)`, () => {
    expect(good.length).toBeGreaterThan(500);
    for (let n = 0; n < good.length; n++) {
      expect(() => decodeCheckpoint(good.subarray(0, n)), `truncated to ${n}`).toThrow(CheckpointFormatError);
    }
  });

  it('fails cleanly on every single flipped byte (header and data)', () => {
    const bytes = Buffer.from(good);
    let paddingFlipsAccepted = 0;
    for (let i = 0; i < bytes.length; i++) {
      const saved = bytes[i];
      bytes[i] = saved ^ 0x5a;
      try {
        const back = decodeCheckpoint(bytes);
        // Only a changed padding space at the header's end can leave the content identical.
        expect(back.model.exportTrainingState().params, `flip at ${i}`).toEqual(reference.params);
        back.model.dispose();
        paddingFlipsAccepted++;
      } catch (error) {
        expect(error, `flip at ${i}`).toBeInstanceOf(CheckpointFormatError);
      }
      bytes[i] = saved;
    }
    expect(paddingFlipsAccepted).toBeLessThanOrEqual(7);
  });

  it('names the problem when shapes, dtypes or tensors do not match the config', () => {
    const raw = decodeSafetensors(good);
    const reencode = (edit: (t: typeof raw.tensors, meta: Record<string, string>) => void) => {
      const tensors = new Map(raw.tensors);
      const meta = { ...raw.metadata };
      delete meta.checksum;
      edit(tensors, meta);
      return encodeSafetensors(tensors, meta);
    };
    // A hand-edited file has no valid checksum; the checksum check comes after structure checks.
    expect(() => decodeCheckpoint(reencode(() => {}))).toThrow(/checksum mismatch/);
    expect(() => decodeCheckpoint(reencode((_t, meta) => (meta.format = 'other')))).toThrow(/not a fusedrnn checkpoint/);
    expect(() => decodeCheckpoint(reencode((_t, meta) => (meta.formatVersion = '99')))).toThrow(/version "99" is not supported/);
  });

  it('checks a forged config against the tensors before building the model (memory bounded by the file)', () => {
    const raw = decodeSafetensors(encodeCheckpoint(m));
    const forge = (edit: (c: ModelConfig) => void): Buffer => {
      const cfg = JSON.parse(raw.metadata.config) as ModelConfig;
      edit(cfg);
      const meta: Record<string, string> = { ...raw.metadata, config: JSON.stringify(cfg) };
      delete meta.checksum;
      const header = safetensorsHeader(raw.tensors, meta);
      const unsigned = encodeSafetensors(raw.tensors, meta);
      const data = unsigned.subarray(Number(unsigned.readBigUInt64LE(0)) + 8);
      meta.checksum = createHash('sha256').update(JSON.stringify(header)).update(data).digest('hex');
      return encodeSafetensors(raw.tensors, meta);
    };
    const edits: [string, (c: ModelConfig) => void, RegExp][] = [
      // 8000 units would take gigabytes if the model were built first.
      ['units', (c) => (c.layers[0].units = 8000), /tensor rnn\.weight_ih_l0 has shape \[6,3\], the config needs \[24000,3\]/],
      ['layers', (c) => c.layers.push({ cell: 'lstm', units: 3 }), /tensor rnn\.weight_ih_l1 is missing/],
      ['vocabulary', (c) => ((c.input as { vocabSize: number }).vocabSize = 5000), /tensor rnn\.weight_ih_l0 has shape \[6,3\], the config needs \[6,5000\]/],
      ['cell', (c) => (c.layers[0].cell = 'lstm'), /tensor rnn\.weight_ih_l0 has shape \[6,3\], the config needs \[8,3\]/],
    ];
    const rssBefore = process.memoryUsage().rss;
    for (const [what, edit, message] of edits) {
      expect(() => decodeCheckpoint(forge(edit)), what).toThrow(CheckpointFormatError);
      expect(() => decodeCheckpoint(forge(edit)), what).toThrow(message);
    }
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('checks shapes against the config even when the checksum is right', () => {
    // Build a self-consistent file for a different hidden size and pass it off under this config.
    const other = Model.create({ ...m.config, layers: [{ cell: 'gru', units: 4 }] });
    const raw = decodeSafetensors(encodeCheckpoint(other));
    const meta: Record<string, string> = { ...raw.metadata, config: JSON.stringify(m.config) };
    delete meta.checksum;
    // Re-sign it the way the writer does, so only the config check can catch it.
    const header = safetensorsHeader(raw.tensors, meta);
    const unsigned = encodeSafetensors(raw.tensors, meta);
    const data = unsigned.subarray(Number(unsigned.readBigUInt64LE(0)) + 8);
    meta.checksum = createHash('sha256').update(JSON.stringify(header)).update(data).digest('hex');
    expect(() => decodeCheckpoint(encodeSafetensors(raw.tensors, meta))).toThrow(/has shape \[12,3\], the config needs \[6,3\]/);
    other.dispose();
  });

  it('leaves no model behind and reports a missing file as the fs error', async () => {
    await expect(loadCheckpoint(join(dir, 'nope.safetensors'))).rejects.toThrow(/ENOENT/);
    await expect(loadCheckpoint('')).rejects.toThrow(TypeError);
  });
});
