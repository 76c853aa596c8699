/**
 * Embedding lookup builder: `Gather` rows of a weight table by integer id, then `Flatten`.
 * An id outside the table makes onnxruntime fail at run time, which is what the worker's
 * poison-job isolation tests need: input that passes the signature but breaks inference.
 *
 * @module
 */
import { assertPositiveInt, attrInt, batchDim, encodeModel, floatInitializer, node, tensorValueInfo } from './graph.js';
import { fillUniform, seededRandom } from './random.js';
import type { BatchOption, BuiltModel } from './types.js';

/** Options of {@link buildEmbeddingLookup}. */
export interface EmbeddingLookupOptions {
  /** Rows in the table; valid ids are 0..vocab-1 (and -vocab..-1, counted from the end). */
  vocab: number;
  /** Width of each embedding row. */
  dim: number;
  /** PRNG seed of the table. Default `1`. */
  seed?: number;
  /** Input name (int64, shape [N, 1]). Default `'id'`. */
  inputName?: string;
  /** Output name (float32, shape [N, dim]). Default `'embedding'`. */
  outputName?: string;
  batch?: BatchOption;
}

/**
 * Builds `embedding = Flatten(Gather(table, id))`: one int64 id per row in, its table row out.
 *
 * @example
 * ```ts
 * const model = buildEmbeddingLookup({ vocab: 10, dim: 4 });
 * // id 3 → row 3 of the table; id 10 → onnxruntime error "indices element out of data bounds"
 * ```
 */
export function buildEmbeddingLookup(opts: EmbeddingLookupOptions): BuiltModel {
  const { vocab, dim } = opts;
  assertPositiveInt('vocab', vocab);
  assertPositiveInt('dim', dim);
  const inputName = opts.inputName ?? 'id';
  const outputName = opts.outputName ?? 'embedding';
  const batch = batchDim(opts.batch);
  const table = fillUniform(new Float32Array(vocab * dim), seededRandom(opts.seed ?? 1), 1);
  const bytes = encodeModel({
    name: `embedding_${vocab}x${dim}`,
    nodes: [
      node('Gather', ['table', inputName], ['gathered'], { attributes: [attrInt('axis', 0)] }),
      node('Flatten', ['gathered'], [outputName], { attributes: [attrInt('axis', 1)] }),
    ],
    initializers: [floatInitializer('table', [vocab, dim], table)],
    inputs: [tensorValueInfo(inputName, 'int64', [batch, 1])],
    outputs: [tensorValueInfo(outputName, 'float32', [batch, dim])],
  });
  return {
    bytes,
    inputs: [{ name: inputName, type: 'int64', shape: [batch, 1] }],
    outputs: [{ name: outputName, type: 'float32', shape: [batch, dim] }],
    reference(input: Float32Array, rows: number) {
      const out = new Float32Array(rows * dim);
      for (let r = 0; r < rows; r++) {
        const raw = input[r] ?? 0;
        const id = raw < 0 ? vocab + raw : raw;
        if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`id ${raw} is outside the table of ${vocab}`);
        out.set(table.subarray(id * dim, (id + 1) * dim), r * dim);
      }
      return { [outputName]: out };
    },
  };
}
