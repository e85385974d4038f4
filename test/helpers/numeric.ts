// Shared numerics for tests: seeded random data, relative errors, golden cases, finite differences.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = resolve(repoRoot, '..', 'shared');

/** Deterministic PRNG (the library's own mulberry32) so every test input is reproducible. */
export { seededRandom as rng } from '../../lib/data/random.js';

/** n values uniform in [-scale, scale): never zeros, never a constant. */
export function randn(n: number, random: () => number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 2 - 1) * scale;
  return out;
}

export function randInts(n: number, hi: number, random: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * hi);
  return out;
}

/** max |a[i] − b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** ‖a−b‖/‖b‖ (‖a−b‖ when b is all zeros). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export interface GoldenTensor {
  shape: number[];
  data: number[];
}

export function goldenPath(name: string): string {
  return resolve(sharedDir, 'golden', `${name}.json`);
}

export function hasGolden(name: string): boolean {
  return existsSync(goldenPath(name));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadGolden(name: string): any {
  return JSON.parse(readFileSync(goldenPath(name), 'utf8'));
}

export function f64(t: GoldenTensor): Float64Array {
  return Float64Array.from(t.data);
}

/**
 * Central-difference gradient of a scalar function f at x (x is perturbed in place and restored).
 * h = 1e-5 with fp64 gives ~1e-10 truncation error on smooth functions.
 */
export function numericGrad(x: Float64Array, f: () => number, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + h;
    const fp = f();
    x[i] = keep - h;
    const fm = f();
    x[i] = keep;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Central-difference gradient of objective() with respect to a model parameter (restored after). */
export async function numericParamGrad(
  model: { getParam(name: string): Float64Array; setParam(name: string, values: Float64Array): void },
  name: string,
  objective: () => number | Promise<number>,
  h = 1e-6,
): Promise<Float64Array> {
  const values = model.getParam(name);
  const g = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const keep = values[i];
    values[i] = keep + h;
    model.setParam(name, values);
    const plus = await objective();
    values[i] = keep - h;
    model.setParam(name, values);
    const minus = await objective();
    values[i] = keep;
    g[i] = (plus - minus) / (2 * h);
  }
  model.setParam(name, values);
  return g;
}
