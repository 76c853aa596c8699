/**
 * Deterministic pseudo-random numbers for weights, thresholds and test inputs.
 *
 * @module
 */

/**
 * Returns a deterministic pseudo-random number generator (mulberry32): every call yields the next
 * float in `[0, 1)`, and the same seed always yields the same sequence on every platform.
 *
 * The seed is reduced to an unsigned 32-bit integer (`seed >>> 0`), so `1` and `2 ** 32 + 1` give
 * the same stream; fractional parts are dropped.
 *
 * @param seed - Any number; only its low 32 bits matter.
 * @returns A function producing the next value of the stream.
 *
 * @example
 * ```ts
 * const next = seededRandom(42);
 * const a = next(); // always the same first value for seed 42
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills `out` with draws from `U(-scale, scale)` taken from `next`, in index order.
 * Values are rounded to float32 by the typed array.
 *
 * @internal
 */
export function fillUniform(out: Float32Array, next: () => number, scale: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}
