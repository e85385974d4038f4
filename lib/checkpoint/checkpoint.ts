// A training checkpoint in one safetensors file. Tensors: every parameter under its PyTorch name,
// Adam's moments as `optimizer.m.<name>` / `optimizer.v.<name>` (trainable parameters only), the
// carried recurrent state as `state.<i>` [B,H]. `__metadata__` (strings only): format and
// version, the model config, vocabulary, Adam step, dropout RNG counter and seed, the caller's
// LR-schedule state and data cursor (opaque JSON), and a SHA-256 over the header and the data,
// so a flipped byte anywhere is an error rather than a silently different model.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Model, plannedParams } from '../model.js';
import type { ModelConfig, ParamInfo } from '../model.js';
import { setting } from '../options/model-config.js';
import { checkKeys, checkObject } from '../validate.js';
import { Vocabulary } from '../vocab.js';
import { writeFileAtomic } from './atomic.js';
import { CheckpointFormatError, asBytes, decodeSafetensors, encodeSafetensors, safetensorsHeader } from './safetensors.js';
import type { Tensor, TensorDtype } from './safetensors.js';

/** The `__metadata__.format` value that marks a safetensors file as a fusedrnn checkpoint. */
export const CHECKPOINT_FORMAT = 'fusedrnn.checkpoint';
/** The newest checkpoint format version this build writes and reads (it reads 1 to this). */
export const CHECKPOINT_VERSION = 1;

/** What {@link saveCheckpoint} stores beside the model. */
export interface SaveOptions {
  vocabulary?: Vocabulary;
  /** Opaque JSON the caller gets back on load: its LR schedule's position. */
  lrSchedule?: unknown;
  /** Opaque JSON the caller gets back on load: where its data stream stands. */
  dataCursor?: unknown;
  /** Store the carried recurrent state (stateful training); default true. */
  recurrentState?: boolean;
}

/** What {@link loadCheckpoint} and {@link decodeCheckpoint} resolve with: the rebuilt model and what was saved with it. */
export interface Checkpoint {
  model: Model;
  vocabulary?: Vocabulary;
  /** Adam steps taken. */
  step: number;
  lrSchedule?: unknown;
  dataCursor?: unknown;
  formatVersion: number;
}

interface Slice {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  trainable: boolean;
}

/**
 * The checkpoint's bytes (what saveCheckpoint writes).
 * @returns the safetensors bytes: parameters under their PyTorch names, Adam's moments, the carried state and
 *   the metadata.
 * @throws TypeError for a bad option; Error when the model has been disposed.
 */
export function encodeCheckpoint(model: Model, options: SaveOptions = {}): Buffer {
  checkObject(options, 'options');
  const dtype: TensorDtype = setting(model.config, 'dtype') === 'float64' ? 'F64' : 'F32';
  const state = model.exportTrainingState();
  const slices = arenaSlices(model, state.params.length);
  for (const s of slices) {
    // Guards the arena-order assumption: a layout change must not silently scramble checkpoints.
    const direct = model.getParam(s.name);
    if (direct.some((x, i) => !Object.is(x, state.params[s.offset + i]))) {
      throw new Error(`internal: parameter ${s.name} is not at its arena offset`);
    }
  }
  const tensors = new Map<string, Tensor>();
  const put = (name: string, shape: number[], values: Float64Array) =>
    tensors.set(name, { dtype, shape, data: dtype === 'F32' ? Float32Array.from(values) : Float64Array.from(values) });
  for (const s of slices) put(s.name, s.shape, state.params.subarray(s.offset, s.offset + s.size));
  for (const s of slices.filter((x) => x.trainable)) {
    put(`optimizer.m.${s.name}`, s.shape, state.m.subarray(s.offset, s.offset + s.size));
    put(`optimizer.v.${s.name}`, s.shape, state.v.subarray(s.offset, s.offset + s.size));
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    formatVersion: String(CHECKPOINT_VERSION),
    // Where the model ran is not part of it: a checkpoint written on the GPU loads on the CPU.
    config: JSON.stringify(withoutPlacement(model.config)),
    optimizer: 'adam',
    step: String(state.step),
    rngCounter: String(state.rngCounter),
    seed: String(setting(model.config, 'seed')),
  };
  if (options.vocabulary !== undefined) {
    if (!(options.vocabulary instanceof Vocabulary)) throw new TypeError('options.vocabulary must be a Vocabulary');
    metadata.vocabulary = JSON.stringify(options.vocabulary.toJSON());
  }
  if (options.lrSchedule !== undefined) metadata.lrSchedule = toJson(options.lrSchedule, 'options.lrSchedule');
  if (options.dataCursor !== undefined) metadata.dataCursor = toJson(options.dataCursor, 'options.dataCursor');
  if (options.recurrentState ?? true) {
    const carried = model.getState();
    if (carried.blocks.length > 0) {
      metadata.recurrentState = JSON.stringify({ batchSize: carried.batchSize, blocks: carried.blocks.length });
      carried.blocks.forEach((b, i) => put(`state.${i}`, [carried.batchSize, b.length / carried.batchSize], b));
    }
  }
  const unsigned = encodeSafetensors(tensors, metadata);
  const dataBytes = unsigned.subarray(unsigned.length - dataLength(tensors));
  metadata.checksum = digest(safetensorsHeader(tensors, metadata), dataBytes);
  return encodeSafetensors(tensors, metadata);
}

/**
 * Writes the checkpoint atomically: a crash mid-save leaves the previous file intact. Missing
 * parent directories are created.
 * @returns a Promise that resolves once the file is durable.
 * @throws TypeError for a bad path or options; the Promise rejects with an error naming `path`
 *   (not the temp file) when the file cannot be written.
 */
export async function saveCheckpoint(path: string, model: Model, options: SaveOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  await writeFileAtomic(path, encodeCheckpoint(model, options));
}

/** Where a loaded model runs (the checkpoint does not say: default Model.create's, the CPU). */
export type Placement = Pick<ModelConfig, 'backend' | 'device' | 'precision'>;
const PLACEMENT_KEYS = ['backend', 'device', 'precision'] as const;

function withoutPlacement(config: Readonly<ModelConfig>): ModelConfig {
  const rest: ModelConfig = { ...config };
  for (const key of PLACEMENT_KEYS) delete rest[key];
  return rest;
}

/**
 * Reads a checkpoint file and rebuilds its model, ready to train on exactly where it stopped.
 * @param placement - where the model runs (`backend`, `device`, `precision`); a checkpoint does not record it. Default: the CPU.
 * @returns the model (weights, Adam moments and step, dropout counter, carried state), the saved vocabulary,
 * the Adam step, your `lrSchedule` and `dataCursor`, and the file's format version.
 * @throws TypeError for a bad argument; CheckpointFormatError when the file is not a fusedrnn checkpoint, is
 *   corrupt
 * (checksum) or its tensors do not match its config; RangeError when the model exceeds the memory budget;
 * the file system's error when it cannot be read.
 */
export async function loadCheckpoint(path: string, placement: Placement = {}): Promise<Checkpoint> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  checkObject(placement, 'placement');
  checkKeys(placement, PLACEMENT_KEYS, 'placement');
  return decodeCheckpoint(await readFile(path), path, placement);
}

/**
 * Rebuilds the model from checkpoint bytes (an ArrayBuffer, a Uint8Array at any offset, or a Buffer).
 * @returns the model (on the CPU unless `placement` says otherwise) and what was saved with it.
 * @throws TypeError when `input` is none of those types.
 * @throws CheckpointFormatError naming `where` for every inconsistency in the file.
 * @throws RangeError when the model exceeds the memory budget.
 */
export function decodeCheckpoint(input: ArrayBuffer | Uint8Array, where = 'checkpoint', placement: Placement = {}): Checkpoint {
  const bytes = asBytes(input, 'bytes');
  const file = decodeSafetensors(bytes, where);
  const fail = (why: string): never => {
    throw new CheckpointFormatError(`${where}: ${why}`);
  };
  const meta = file.metadata;
  if (meta.format !== CHECKPOINT_FORMAT) {
    fail(`not a fusedrnn checkpoint (no __metadata__.format "${CHECKPOINT_FORMAT}"); use loadStateDict() for PyTorch weights`);
  }
  const version = Number(meta.formatVersion);
  if (!Number.isInteger(version) || version < 1 || version > CHECKPOINT_VERSION) {
    fail(`format version ${JSON.stringify(meta.formatVersion)} is not supported (this build reads 1..${CHECKPOINT_VERSION})`);
  }
  const header = structuredClone(file.header) as { __metadata__: Record<string, string> };
  delete header.__metadata__.checksum;
  if (meta.checksum !== digest(header, bytes.subarray(file.dataOffset))) fail('checksum mismatch: the file is corrupt');

  const config = { ...(parseJson(meta.config, 'config', fail) as ModelConfig), ...placement };
  const dtype: TensorDtype = setting(config, 'dtype') === 'float64' ? 'F64' : 'F32';
  // Every tensor the config needs, checked against the file before the model (and its memory,
  // which a forged config could make huge) exists: a failed load costs about the file's size.
  let planned: ParamInfo[];
  try {
    planned = plannedParams(config);
  } catch (error) {
    return fail(`its model config is invalid: ${(error as Error).message}`);
  }
  const expect = (name: string, shape: number[]) => {
    const t = file.tensors.get(name);
    if (t === undefined) return fail(`tensor ${name} is missing`);
    if (t.dtype !== dtype) fail(`tensor ${name} is ${t.dtype}, the ${setting(config, 'dtype')} model needs ${dtype}`);
    if (t.shape.join(',') !== shape.join(',')) fail(`tensor ${name} has shape [${t.shape}], the config needs [${shape}]`);
  };
  for (const p of planned) {
    expect(p.name, p.shape);
    if (p.trainable) for (const moment of ['m', 'v']) expect(`optimizer.${moment}.${p.name}`, p.shape);
  }
  let model: Model;
  try {
    model = Model.createForRestore(config);  // every parameter comes from the file below
  } catch (error) {
    // A placement the machine cannot honour (no usable GPU) is the caller's error, not the file's.
    if (Object.keys(placement).length > 0) throw error;
    return fail(`its model config is invalid: ${(error as Error).message}`);
  }
  try {
    const vocabulary = meta.vocabulary === undefined ? undefined : parseVocabulary(meta.vocabulary, fail);
    if (vocabulary !== undefined && vocabulary.size !== model.vocabSize) {
      fail(`its vocabulary has ${vocabulary.size} characters, the model ${model.vocabSize ?? 'no'} token ids`);
    }
    const exported = model.exportTrainingState();
    const total = exported.params.length;
    const params = new Float64Array(total);
    const m = new Float64Array(total);
    const v = new Float64Array(total);
    const used = new Set<string>();
    // The model's layout is the planned one checked above (both from the same config).
    const take = (name: string, into: Float64Array, offset: number) => {
      into.set(file.tensors.get(name)!.data, offset);
      used.add(name);
    };
    for (const s of arenaSlices(model, total)) {
      take(s.name, params, s.offset);
      if (!s.trainable) continue;
      take(`optimizer.m.${s.name}`, m, s.offset);
      take(`optimizer.v.${s.name}`, v, s.offset);
    }
    const step = parseCount(meta.step, 'step', fail);
    const rngCounter = parseCount(meta.rngCounter, 'rngCounter', fail);
    if (meta.seed !== String(setting(config, 'seed'))) fail(`metadata seed ${JSON.stringify(meta.seed)} disagrees with the config's`);
    try {
      model.importTrainingState({ params, m, v, step, rngCounter });
    } catch (error) {
      fail((error as Error).message);
    }
    if (meta.recurrentState !== undefined) {
      const rs = parseJson(meta.recurrentState, 'recurrentState', fail) as { batchSize?: unknown; blocks?: unknown };
      if (!Number.isSafeInteger(rs.batchSize) || !Number.isSafeInteger(rs.blocks) || (rs.blocks as number) < 1) {
        fail('metadata recurrentState must be {batchSize, blocks}');
      }
      const blocks: Float64Array[] = [];
      for (let i = 0; i < (rs.blocks as number); i++) {
        const t = file.tensors.get(`state.${i}`);
        if (t === undefined || t.dtype !== dtype || t.shape.length !== 2 || t.shape[0] !== rs.batchSize) {
          fail(`tensor state.${i} is missing or is not a ${dtype} [${rs.batchSize}, H] block`);
        }
        blocks.push(Float64Array.from(t!.data));
        used.add(`state.${i}`);
      }
      try {
        model.setState({ batchSize: rs.batchSize as number, blocks });
      } catch (error) {
        fail(`its recurrent state does not fit the model: ${(error as Error).message}`);
      }
    }
    const extra = [...file.tensors.keys()].filter((n) => !used.has(n));
    if (extra.length > 0) fail(`unexpected tensors: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}`);
    return {
      model,
      vocabulary,
      step,
      lrSchedule: meta.lrSchedule === undefined ? undefined : parseJson(meta.lrSchedule, 'lrSchedule', fail),
      dataCursor: meta.dataCursor === undefined ? undefined : parseJson(meta.dataCursor, 'dataCursor', fail),
      formatVersion: version,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** The parameters in arena order with their offsets (the native arena packs them back to back). */
export function arenaSlices(model: Model, arenaLength: number): Slice[] {
  let offset = 0;
  const slices = model.params().map((p) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const s = { name: p.name, shape: p.shape, offset, size, trainable: p.trainable };
    offset += size;
    return s;
  });
  if (offset !== arenaLength) throw new Error(`internal: parameters total ${offset}, the arena holds ${arenaLength}`);
  return slices;
}

function dataLength(tensors: Map<string, Tensor>): number {
  let n = 0;
  for (const t of tensors.values()) n += t.data.byteLength;
  return n;
}

function digest(header: object, data: Uint8Array): string {
  return createHash('sha256').update(JSON.stringify(header)).update(data).digest('hex');
}

function toJson(value: unknown, where: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${where} must be JSON-serialisable: ${(error as Error).message}`);
  }
  if (json === undefined) throw new TypeError(`${where} must be JSON-serialisable`);
  return json;
}

function parseJson(text: string | undefined, key: string, fail: (why: string) => never): unknown {
  if (text === undefined) return fail(`metadata ${key} is missing`);
  try {
    return JSON.parse(text);
  } catch {
    return fail(`metadata ${key} is not valid JSON`);
  }
}

function parseCount(text: string | undefined, key: string, fail: (why: string) => never): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(n)) fail(`metadata ${key} must be a non-negative integer`);
  return n;
}

function parseVocabulary(text: string, fail: (why: string) => never): Vocabulary {
  const v = parseJson(text, 'vocabulary', fail) as { chars?: unknown; normalizeNewlines?: unknown; unknown?: unknown };
  try {
    return Vocabulary.fromChars(v.chars as string[], {
      normalizeNewlines: v.normalizeNewlines as boolean,
      unknown: v.unknown as 'error' | 'skip',
    });
  } catch (error) {
    return fail(`its vocabulary is invalid: ${(error as Error).message}`);
  }
}
