/**
 * The fixed MLPs the demo, tests and benchmarks share.
 *
 * @module
 */
import type { MlpOptions } from './mlp.js';

/**
 * Fixed MLP configurations, both with a softmax head and a fixed seed, so every consumer builds
 * byte-identical models:
 *
 * - `small`: layers `[32, 64, 32, 2]` (4,258 parameters), seed 42 — fast, for demos and tests.
 * - `large`: layers `[256, 1024, 1024, 512, 10]` (~1.84 M parameters), seed 1337 — for benchmarks.
 *
 * The objects (and their `layers` arrays) are frozen; spread them to vary a field:
 * `buildMlp({ ...REFERENCE_MODELS.small, batch: 1 })`.
 */
export const REFERENCE_MODELS: { readonly small: MlpOptions; readonly large: MlpOptions } = Object.freeze({
  small: freezeOptions({ layers: [32, 64, 32, 2], seed: 42, head: 'softmax' }),
  large: freezeOptions({ layers: [256, 1024, 1024, 512, 10], seed: 1337, head: 'softmax' }),
});

function freezeOptions(options: MlpOptions): MlpOptions {
  Object.freeze(options.layers);
  return Object.freeze(options);
}
