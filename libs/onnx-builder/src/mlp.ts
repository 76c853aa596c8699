/**
 * Multi-layer perceptron builder: Gemm(transB=1) + Relu between hidden layers, optional Softmax head.
 *
 * @module
 */
import { assertInputSize, assertPositiveInt, attrInt, batchDim, encodeModel, floatInitializer, node, tensorValueInfo } from './graph.js';
import type { onnx } from 'onnx-proto';
import { fillUniform, seededRandom } from './random.js';
import type { BatchOption, BuiltModel } from './types.js';

/** Options of {@link buildMlp}. */
export interface MlpOptions {
  /** Layer widths, input first, output last: `[32, 64, 32, 2]`. At least two entries, all positive integers. */
  layers: number[];
  /** PRNG seed of the weights; the same seed always gives the same bytes. Default `1`. */
  seed?: number;
  /** `'softmax'` (classifier probabilities, default) or `'none'` (raw logits / regression). */
  head?: 'softmax' | 'none';
  /** Name of the graph input. Default `'input'`. */
  inputName?: string;
  /** Name of the graph output. Default `'probabilities'` for a softmax head, `'output'` otherwise. */
  outputName?: string;
  /** Batch axis: a symbolic dim `'N'` (`'dynamic'`, default) or a fixed size such as `1`. */
  batch?: BatchOption;
}

/** Half-width of the uniform distribution biases are drawn from. */
const BIAS_SCALE = 0.1;

/**
 * One dense layer in `Gemm(transB=1)` layout.
 *
 * @internal
 */
interface DenseLayer {
  /** Inputs of the layer. */
  fanIn: number;
  /** Outputs of the layer. */
  fanOut: number;
  /** Row-major `[fanOut, fanIn]`. */
  weight: Float32Array;
  /** `[fanOut]`. */
  bias: Float32Array;
}

/**
 * Draws dense layers from `seed`, layer by layer, weights (`U(-1,1)·√(6/(fanIn+fanOut))`, Glorot
 * uniform) before biases (`U(-0.1, 0.1)`).
 *
 * @internal
 */
export function drawDenseLayers(layers: readonly number[], seed: number): DenseLayer[] {
  const next = seededRandom(seed);
  const out: DenseLayer[] = [];
  for (let l = 0; l + 1 < layers.length; l++) {
    const fanIn = layers[l] ?? 0;
    const fanOut = layers[l + 1] ?? 0;
    const weight = fillUniform(new Float32Array(fanIn * fanOut), next, Math.sqrt(6 / (fanIn + fanOut)));
    const bias = fillUniform(new Float32Array(fanOut), next, BIAS_SCALE);
    out.push({ fanIn, fanOut, weight, bias });
  }
  return out;
}

/**
 * `x · Wᵀ + b` for every row, in float64. `x` is row-major `rows × fanIn`.
 *
 * @internal
 */
export function denseForward(layer: DenseLayer, x: ArrayLike<number>, rows: number): Float64Array {
  const { fanIn, fanOut, weight, bias } = layer;
  const y = new Float64Array(rows * fanOut);
  for (let r = 0; r < rows; r++) {
    const xo = r * fanIn;
    for (let j = 0; j < fanOut; j++) {
      const wo = j * fanIn;
      let acc = bias[j] ?? 0;
      for (let k = 0; k < fanIn; k++) acc += (x[xo + k] ?? 0) * (weight[wo + k] ?? 0);
      y[r * fanOut + j] = acc;
    }
  }
  return y;
}

/**
 * Numerically stable softmax of every row of a row-major `rows × width` array, in place.
 *
 * @internal
 */
export function softmaxRows(values: Float64Array, rows: number, width: number): Float64Array {
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, values[o + j] ?? -Infinity);
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const e = Math.exp((values[o + j] ?? 0) - max);
      values[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < width; j++) values[o + j] = (values[o + j] ?? 0) / sum;
  }
  return values;
}

/**
 * Builds a fully connected network: one `Gemm(transB=1)` per layer (weights `[out, in]` and biases
 * `[out]` as float32 `raw_data` initializers), `Relu` after every layer but the last, and
 * `Softmax(axis=1)` on the last one unless `head` is `'none'`.
 *
 * Weights are Glorot-uniform, `U(-1,1)·√(6/(fanIn+fanOut))`; biases `U(-0.1, 0.1)`; all drawn from
 * {@link seededRandom}(seed), so the bytes depend only on the options.
 *
 * @param opts - Layer widths, seed, head, names and batch axis.
 * @returns The model: input `[N|batch, layers[0]]` float32, output `[N|batch, layers.at(-1)]` float32.
 * @throws RangeError for fewer than two layers, non-positive widths or an invalid batch size.
 *
 * @example
 * ```ts
 * const model = buildMlp({ layers: [4, 8, 3], seed: 7 });
 * const session = await ort.InferenceSession.create(model.bytes);
 * ```
 */
export function buildMlp(opts: MlpOptions): BuiltModel {
  const layers = [...opts.layers];
  if (layers.length < 2) throw new RangeError(`layers needs at least an input and an output width, got [${layers.join(', ')}]`);
  layers.forEach((w, i) => assertPositiveInt(`layers[${i}]`, w));
  const seed = opts.seed ?? 1;
  const head = opts.head ?? 'softmax';
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? (head === 'softmax' ? 'probabilities' : 'output');
  if (inputName === outputName) throw new RangeError(`inputName and outputName must differ, both are '${inputName}'`);
  const batch = batchDim(opts.batch);
  const inFeatures = layers[0] ?? 0;
  const outFeatures = layers[layers.length - 1] ?? 0;

  const dense = drawDenseLayers(layers, seed);
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let current = inputName;
  dense.forEach((layer, i) => {
    const last = i === dense.length - 1;
    const w = `layer${i}.weight`;
    const b = `layer${i}.bias`;
    initializers.push(floatInitializer(w, [layer.fanOut, layer.fanIn], layer.weight));
    initializers.push(floatInitializer(b, [layer.fanOut], layer.bias));
    const gemmOut = last && head === 'none' ? outputName : `layer${i}.gemm`;
    nodes.push(node('Gemm', [current, w, b], [gemmOut], { name: `layer${i}_gemm`, attributes: [attrInt('transB', 1)] }));
    current = gemmOut;
    if (!last) {
      const reluOut = `layer${i}.relu`;
      nodes.push(node('Relu', [current], [reluOut], { name: `layer${i}_relu` }));
      current = reluOut;
    }
  });
  if (head === 'softmax') {
    nodes.push(node('Softmax', [current], [outputName], { name: 'head_softmax', attributes: [attrInt('axis', 1)] }));
  }

  const inputShape = [batch, inFeatures];
  const outputShape = [batch, outFeatures];
  const bytes = encodeModel({
    name: `mlp_${layers.join('x')}`,
    docString: `MLP [${layers.join(', ')}], head ${head}, seed ${seed} (@scoreq/onnx-builder)`,
    nodes,
    initializers,
    inputs: [tensorValueInfo(inputName, 'float32', inputShape)],
    outputs: [tensorValueInfo(outputName, 'float32', outputShape)],
  });

  return {
    bytes,
    inputs: [{ name: inputName, type: 'float32', shape: inputShape }],
    outputs: [{ name: outputName, type: 'float32', shape: outputShape }],
    reference(input: Float32Array, rows: number) {
      assertInputSize(input, rows, inFeatures);
      let x: ArrayLike<number> = input;
      let y: Float64Array = new Float64Array(0);
      dense.forEach((layer, i) => {
        y = denseForward(layer, x, rows);
        if (i < dense.length - 1) for (let k = 0; k < y.length; k++) y[k] = Math.max(0, y[k] ?? 0);
        x = y;
      });
      if (head === 'softmax') softmaxRows(y, rows, outFeatures);
      return { [outputName]: Float32Array.from(y) };
    },
  };
}
