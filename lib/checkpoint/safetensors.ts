// The safetensors container: an 8-byte little-endian header length, a JSON header (tensor name ->
// {dtype, shape, data_offsets} plus an optional string->string `__metadata__`), then the raw
// little-endian tensor bytes. Only F32 and F64 are read or written: the model's two dtypes.
// Decoding trusts nothing: every offset, size and shape is checked before a byte is read.

/** The safetensors dtypes this package reads and writes: float32 and float64. */
export type TensorDtype = 'F32' | 'F64';

/** One tensor of a safetensors file: its dtype, shape and values (row-major). */
export interface Tensor {
  dtype: TensorDtype;
  shape: number[];
  data: Float32Array | Float64Array;
}

/** A decoded safetensors file: its tensors by name and its `__metadata__` strings. */
export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** A file that is not a valid safetensors container (or not one this package can read). */
export class CheckpointFormatError extends Error {
  override name = 'CheckpointFormatError';
}

const BYTES: Record<TensorDtype, number> = { F32: 4, F64: 8 };
// Headers of real checkpoints are a few kB; the cap keeps a corrupt length from allocating GBs.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The header object encodeSafetensors() writes: __metadata__ first, then the tensors in order. */
export function safetensorsHeader(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): Record<string, unknown> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new RangeError('a tensor cannot be named __metadata__');
    const bytes = t.data.length * BYTES[t.dtype];
    if (t.shape.reduce((a, b) => a * b, 1) !== t.data.length) {
      throw new RangeError(`tensor ${name}: shape [${t.shape}] does not match ${t.data.length} elements`);
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  return header;
}

/**
 * @returns the safetensors bytes of `tensors` (in the map's order) with `metadata` as `__metadata__`.
 * @throws RangeError when a tensor's values do not match its shape or one is named `__metadata__`.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): Buffer {
  const header = safetensorsHeader(tensors, metadata);
  let offset = 0;
  for (const t of tensors.values()) offset += t.data.length * BYTES[t.dtype];
  // Pad the header with spaces so the data starts 8-byte aligned (readers can map it in place).
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    at += writeLittleEndian(out, at, t);
  }
  return out;
}

/** File bytes as a Uint8Array view (no copy): a Buffer, any Uint8Array view, or an ArrayBuffer. */
export function asBytes(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value;  // Buffer is a Uint8Array
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`${name} must be an ArrayBuffer, a Uint8Array or a Buffer`);
}

/**
 * Parses a safetensors container (F32/F64 tensors only). Also returns the parsed header and where
 * the data starts, for checksums over both.
 * @returns the tensors by name, the metadata, the parsed header and the offset of the data.
 * @throws TypeError when `bytes` is not an ArrayBuffer, Uint8Array or Buffer.
 * @throws CheckpointFormatError when the bytes are not a valid container.
 */
export function decodeSafetensors(
  bytes: ArrayBuffer | Uint8Array,
  where = 'file',
): SafetensorsFile & { header: Record<string, unknown>; dataOffset: number } {
  const file = asBytes(bytes, 'bytes');
  const fail = (why: string): never => {
    throw new CheckpointFormatError(`${where} is not a valid safetensors file: ${why}`);
  };
  if (file.length < 8) fail(`it has ${file.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength < 2n || headerLength > BigInt(Math.min(MAX_HEADER_BYTES, file.length - 8))) {
    fail(`the header length ${headerLength} does not fit in the ${file.length}-byte file`);
  }
  const headerEnd = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, headerEnd)));
  } catch (error) {
    fail(`the header is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const entries = header as Record<string, unknown>;
  const dataLength = file.length - headerEnd;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, Tensor>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(entries)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as object)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor ${name} has no {dtype, shape, data_offsets}`);
    if (e.dtype !== 'F32' && e.dtype !== 'F64') fail(`tensor ${name} has dtype ${JSON.stringify(e.dtype)}; only F32 and F64 are supported`);
    const dtype = e.dtype as TensorDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name} has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLength) fail(`tensor ${name} spans bytes [${begin}, ${end}) outside the ${dataLength} data bytes`);
    if (end - begin !== count * BYTES[dtype]) fail(`tensor ${name}: ${end - begin} bytes do not hold shape [${shape}] of ${dtype}`);
    spans.push([begin, end, name]);
    tensors.set(name, { dtype, shape, data: readLittleEndian(file, headerEnd + begin, count, dtype) });
  }
  // Tensors must tile the data exactly: an overlap aliases two tensors, a gap or a tail means
  // the header and the data disagree (a truncated or spliced file).
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin < covered) fail(`tensor ${name} overlaps the tensor before it`);
    if (begin > covered) fail(`bytes [${covered}, ${begin}) of the data belong to no tensor`);
    covered = end;
  }
  if (covered !== dataLength) fail(`the file has ${dataLength - covered} bytes past its last tensor`);
  return { tensors, metadata, header: entries, dataOffset: headerEnd };
}

function writeLittleEndian(out: Buffer, at: number, t: Tensor): number {
  const bytes = t.data.length * BYTES[t.dtype];
  const typed = t.dtype === 'F32' ? Float32Array.from(t.data) : Float64Array.from(t.data);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(typed.buffer, typed.byteOffset, bytes), at);
  } else {
    const view = new DataView(out.buffer, out.byteOffset + at, bytes);
    typed.forEach((x, i) => (t.dtype === 'F32' ? view.setFloat32(i * 4, x, true) : view.setFloat64(i * 8, x, true)));
  }
  return bytes;
}

function readLittleEndian(file: Uint8Array, at: number, count: number, dtype: TensorDtype): Float32Array | Float64Array {
  const size = BYTES[dtype];
  // Copy into a fresh buffer: the data may sit at any alignment inside the file.
  // (Buffer.slice would be a view into a shared pool; set() makes a real copy.)
  const bytes = new Uint8Array(count * size);
  bytes.set(file.subarray(at, at + count * size));
  if (LITTLE_ENDIAN) return dtype === 'F32' ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
  const view = new DataView(bytes.buffer);
  const out = dtype === 'F32' ? new Float32Array(count) : new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = dtype === 'F32' ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
  return out;
}
