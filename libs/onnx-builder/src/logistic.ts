/**
 * Logistic regression builder: `Gemm` to one logit, then `Sigmoid`.
 *
 * @module
 */
import { assertInputSize, assertPositiveInt, attrInt, batchDim, encodeModel, floatInitializer, node, tensorValueInfo } from './graph.js';
import { denseForward, drawDenseLayers } from './mlp.js';
import type { BatchOption, BuiltModel } from './types.js';

/** Options of {@link buildLogisticRegression}. */
export interface LogisticRegressionOptions {
  /** Number of input features (positive integer). */
  features: number;
  /** PRNG seed of the weights. Default `1`. */
  seed?: number;
  /** Name of the graph input. Default `'input'`. */
  inputName?: string;
  /** Name of the graph output. Default `'probability'`. */
  outputName?: string;
  /** Batch axis: a symbolic dim `'N'` (`'dynamic'`, default) or a fixed size such as `1`. */
  batch?: BatchOption;
}

/**
 * Builds a binary logistic regression: `Gemm(transB=1)` with weight `[1, features]` and bias `[1]`
 * (Glorot-uniform weights, `U(-0.1, 0.1)` bias, drawn exactly like a one-layer {@link buildMlp}),
 * followed by `Sigmoid`. The output is the positive-class probability, shape `[N, 1]`.
 *
 * @param opts - Feature count, seed, names and batch axis.
 * @returns The model: input `[N|batch, features]` float32, output `[N|batch, 1]` float32.
 * @throws RangeError for a non-positive feature count or an invalid batch size.
 *
 * @example
 * ```ts
 * const model = buildLogisticRegression({ features: 16, seed: 3 });
 * model.outputs[0]; // { name: 'probability', type: 'float32', shape: ['N', 1] }
 * ```
 */
export function buildLogisticRegression(opts: LogisticRegressionOptions): BuiltModel {
  const { features } = opts;
  assertPositiveInt('features', features);
  const seed = opts.seed ?? 1;
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'probability';
  if (inputName === outputName) throw new RangeError(`inputName and outputName must differ, both are '${inputName}'`);
  const batch = batchDim(opts.batch);

  const [layer] = drawDenseLayers([features, 1], seed);
  if (layer === undefined) throw new Error('unreachable: one dense layer expected');
  const inputShape = [batch, features];
  const outputShape = [batch, 1];
  const bytes = encodeModel({
    name: `logistic_${features}`,
    docString: `Logistic regression over ${features} features, seed ${seed} (@scoreq/onnx-builder)`,
    nodes: [
      node('Gemm', [inputName, 'weight', 'bias'], ['logit'], { name: 'linear', attributes: [attrInt('transB', 1)] }),
      node('Sigmoid', ['logit'], [outputName], { name: 'sigmoid' }),
    ],
    initializers: [floatInitializer('weight', [1, features], layer.weight), floatInitializer('bias', [1], layer.bias)],
    inputs: [tensorValueInfo(inputName, 'float32', inputShape)],
    outputs: [tensorValueInfo(outputName, 'float32', outputShape)],
  });

  return {
    bytes,
    inputs: [{ name: inputName, type: 'float32', shape: inputShape }],
    outputs: [{ name: outputName, type: 'float32', shape: outputShape }],
    reference(input: Float32Array, rows: number) {
      assertInputSize(input, rows, features);
      const logits = denseForward(layer, input, rows);
      const out = new Float32Array(rows);
      for (let r = 0; r < rows; r++) out[r] = 1 / (1 + Math.exp(-(logits[r] ?? 0)));
      return { [outputName]: out };
    },
  };
}
