/**
 * `@scoreq/onnx-builder` — writes small, valid ONNX models from TypeScript, deterministic from a
 * seed, for scoreq's demo, tests and benchmarks. Models are encoded with the generated
 * `onnx-proto` messages (IR version 8, default opset 17, `ai.onnx.ml` opset 3 for tree ensembles)
 * and carry a pure-JS `reference()` forward pass to check onnxruntime's results against. A few
 * models scoreq must refuse (`zipMapClassifier`, `stringInputModel`) are written as bytes only, for
 * tests and docs.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * import { buildMlp, REFERENCE_MODELS, writeModel } from '@scoreq/onnx-builder';
 *
 * const model = buildMlp(REFERENCE_MODELS.small); // [32, 64, 32, 2], softmax head
 * const path = await writeModel('models/demo/1', model); // models/demo/1/model.onnx
 *
 * const session = await ort.InferenceSession.create(model.bytes);
 * const x = new Float32Array(3 * 32).fill(0.5);
 * const out = await session.run({ input: new ort.Tensor('float32', x, [3, 32]) });
 * out['probabilities']; // ≈ model.reference(x, 3)['probabilities']
 * ```
 *
 * @packageDocumentation
 */
export { seededRandom } from './random.js';
export type { BatchOption, BuiltModel, Dim, ModelInput, ModelOutput } from './types.js';
export { buildMlp } from './mlp.js';
export type { MlpOptions } from './mlp.js';
export { buildLogisticRegression } from './logistic.js';
export type { LogisticRegressionOptions } from './logistic.js';
export { buildTreeEnsemble } from './tree-ensemble.js';
export type { TreeEnsembleOptions } from './tree-ensemble.js';
export { REFERENCE_MODELS } from './reference-models.js';
export { writeModel } from './io.js';
export { buildEmbeddingLookup } from './embedding.js';
export type { EmbeddingLookupOptions } from './embedding.js';
export { stringInputModel, zipMapClassifier } from './refusable-models.js';
