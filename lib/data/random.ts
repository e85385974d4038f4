// A small seeded generator for data order (shuffles, random windows). Data order needs
// repeatability, not cryptographic quality: mulberry32 is 32-bit state, fast and well mixed.
import { checkInt } from '../validate.js';

/** A generator of uniform numbers in [0, 1), as {@link seededRandom} returns. */
export type Random = () => number;

/**
 * Uniform floats in [0, 1) from a 32-bit seed; the same seed gives the same sequence.
 * @returns the generator.
 * @throws TypeError when `seed` is not an integer, RangeError when it is outside [0, 2^53 - 1].
 */
export function seededRandom(seed: number): Random {
  let state = checkInt(seed, 'seed', 0, Number.MAX_SAFE_INTEGER) >>> 0;
  // Mix in the high bits so seeds above 2^32 do not collide with their low 32 bits.
  state = (state ^ Math.floor(seed / 2 ** 32)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Fisher-Yates shuffle of [0, n) with `random`.
 * @returns the shuffled indices.
 * @throws RangeError when `n` is not a valid array length.
 */
export function shuffledIndices(n: number, random: Random): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
