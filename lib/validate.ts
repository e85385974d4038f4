// Argument checking for the public API: every failure names the argument and what was expected.

export function checkKeys(options: object, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const near = closest(key, allowed);
      throw new TypeError(
        `${where}: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; expected one of ${allowed.join(', ')}`,
      );
    }
  }
}

export function checkObject(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function checkInt(value: unknown, where: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${where} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new RangeError(`${where} must be in [${min}, ${max}], got ${value}`);
  return value;
}

/** A finite number in [min, max] (maxOpen: max excluded). */
export function checkNumber(value: unknown, where: string, min: number, max: number, maxOpen = false): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${where} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < min || (maxOpen ? value >= max : value > max)) {
    throw new RangeError(`${where} must be in [${min}, ${max}${maxOpen ? ')' : ']'}, got ${value}`);
  }
  return value;
}

export function checkBoolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${where} must be a boolean, got ${describe(value)}`);
  return value;
}

export function checkOneOf<T extends string>(value: unknown, where: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new RangeError(`${where} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

export function checkInt32Array(value: unknown, where: string, length?: number): Int32Array {
  if (!(value instanceof Int32Array)) throw new TypeError(`${where} must be an Int32Array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${where} must have ${length} elements, got ${value.length}`);
  }
  return value;
}

export function checkFloatArray(value: unknown, where: string, length?: number): Float32Array | Float64Array {
  if (!(value instanceof Float32Array) && !(value instanceof Float64Array)) {
    throw new TypeError(`${where} must be a Float32Array or Float64Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${where} must have ${length} elements, got ${value.length}`);
  }
  for (let i = 0; i < value.length; i++) {
    if (!Number.isFinite(value[i])) throw new RangeError(`${where}[${i}] must be finite, got ${value[i]}`);
  }
  return value;
}

/** Every id in [0, limit). */
export function checkIds(ids: Int32Array, where: string, limit: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= limit) throw new RangeError(`${where}[${i}] = ${ids[i]} is out of range [0, ${limit})`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** The candidate within edit distance 2 of `key` (case-insensitive), for 'did you mean' hints; undefined if none. */
export function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(key.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}
