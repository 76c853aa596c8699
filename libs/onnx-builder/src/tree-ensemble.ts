/**
 * Tree-ensemble builder: `ai.onnx.ml` `TreeEnsembleClassifier` / `TreeEnsembleRegressor` (opset 3)
 * over full binary trees with random splits.
 *
 * @module
 */
import type { onnx } from 'onnx-proto';
import {
  assertInputSize,
  assertPositiveInt,
  attrFloats,
  attrInt,
  attrInts,
  attrString,
  attrStrings,
  batchDim,
  encodeModel,
  ML_DOMAIN,
  node,
  tensorValueInfo,
} from './graph.js';
import { softmaxRows } from './mlp.js';
import { seededRandom } from './random.js';
import type { BatchOption, BuiltModel, ModelOutput } from './types.js';

/** Options of {@link buildTreeEnsemble}. */
export interface TreeEnsembleOptions {
  /** Number of input features (positive integer). */
  features: number;
  /** Number of trees (positive integer). */
  trees: number;
  /** Depth of every tree: `2^depth - 1` split nodes and `2^depth` leaves (integer, 1..20). */
  depth: number;
  /** Number of classes of a classifier (integer ≥ 2, default `3`). Ignored by a regressor. */
  classes?: number;
  /** PRNG seed of features, thresholds and leaf values. Default `1`. */
  seed?: number;
  /** `'classifier'` (outputs `label` and `probabilities`) or `'regressor'` (output `variable`). */
  mode: 'classifier' | 'regressor';
  /** Name of the graph input. Default `'input'`. */
  inputName?: string;
  /** Batch axis: a symbolic dim `'N'` (`'dynamic'`, default) or a fixed size such as `1`. */
  batch?: BatchOption;
}

/** Largest accepted tree depth (2^21 − 1 nodes per tree already makes huge attribute lists). */
const MAX_DEPTH = 20;
/** Half-width of the uniform distribution split thresholds are drawn from. */
const THRESHOLD_SCALE = 1;

/**
 * Random full binary trees stored in the flat layout the ONNX operators use. Node `i` of a tree
 * has children `2i+1` (taken when `x[feature] <= threshold`) and `2i+2`; nodes `≥ 2^depth − 1`
 * are leaves.
 *
 * @internal
 */
interface Forest {
  trees: number;
  /** Split nodes per tree, `2^depth − 1`. */
  splits: number;
  /** Leaves per tree, `2^depth`. */
  leaves: number;
  /** Values per leaf (classes, 1 for binary classification and regression). */
  width: number;
  /** `[trees × splits]` feature index per split node. */
  feature: Int32Array;
  /** `[trees × splits]` float32 threshold per split node. */
  threshold: Float32Array;
  /** `[trees × leaves × width]` float32 leaf values. */
  leafValues: Float32Array;
}

/** Draws a forest; per tree all split nodes (feature, then threshold) in order, then all leaf values. */
function drawForest(next: () => number, features: number, trees: number, depth: number, width: number, leafScale: number): Forest {
  const splits = 2 ** depth - 1;
  const leaves = 2 ** depth;
  const feature = new Int32Array(trees * splits);
  const threshold = new Float32Array(trees * splits);
  const leafValues = new Float32Array(trees * leaves * width);
  for (let t = 0; t < trees; t++) {
    for (let s = 0; s < splits; s++) {
      feature[t * splits + s] = Math.min(features - 1, Math.floor(next() * features));
      threshold[t * splits + s] = (next() * 2 - 1) * THRESHOLD_SCALE;
    }
    const base = t * leaves * width;
    for (let k = 0; k < leaves * width; k++) leafValues[base + k] = (next() * 2 - 1) * leafScale;
  }
  return { trees, splits, leaves, width, feature, threshold, leafValues };
}

/** Index (within its tree) of the leaf that `row` (offset into `input`) reaches. */
function leafOf(forest: Forest, t: number, input: Float32Array, row: number): number {
  let i = 0;
  while (i < forest.splits) {
    const s = t * forest.splits + i;
    const x = input[row + (forest.feature[s] ?? 0)] ?? NaN;
    i = x <= (forest.threshold[s] ?? 0) ? 2 * i + 1 : 2 * i + 2;
  }
  return i - forest.splits;
}

/** The `nodes_*` attributes shared by both operators. */
function nodeAttributes(forest: Forest): onnx.IAttributeProto[] {
  const perTree = forest.splits + forest.leaves;
  const total = forest.trees * perTree;
  const treeIds = new Array<number>(total);
  const nodeIds = new Array<number>(total);
  const featureIds = new Array<number>(total);
  const values = new Array<number>(total);
  const modes = new Array<string>(total);
  const trueIds = new Array<number>(total);
  const falseIds = new Array<number>(total);
  for (let t = 0; t < forest.trees; t++) {
    for (let i = 0; i < perTree; i++) {
      const k = t * perTree + i;
      const split = i < forest.splits;
      treeIds[k] = t;
      nodeIds[k] = i;
      featureIds[k] = split ? (forest.feature[t * forest.splits + i] ?? 0) : 0;
      values[k] = split ? (forest.threshold[t * forest.splits + i] ?? 0) : 0;
      modes[k] = split ? 'BRANCH_LEQ' : 'LEAF';
      trueIds[k] = split ? 2 * i + 1 : 0;
      falseIds[k] = split ? 2 * i + 2 : 0;
    }
  }
  return [
    attrInts('nodes_treeids', treeIds),
    attrInts('nodes_nodeids', nodeIds),
    attrInts('nodes_featureids', featureIds),
    attrFloats('nodes_values', values),
    attrStrings('nodes_modes', modes),
    attrInts('nodes_truenodeids', trueIds),
    attrInts('nodes_falsenodeids', falseIds),
  ];
}

/**
 * Leaf weight attributes (`<prefix>_treeids`, `_nodeids`, `_ids`, `_weights`); leaf value `j` of a
 * leaf goes to class/target `firstId + j`.
 */
function leafAttributes(forest: Forest, prefix: 'class' | 'target', firstId: number): onnx.IAttributeProto[] {
  const total = forest.trees * forest.leaves * forest.width;
  const treeIds = new Array<number>(total);
  const nodeIds = new Array<number>(total);
  const ids = new Array<number>(total);
  for (let t = 0; t < forest.trees; t++) {
    for (let l = 0; l < forest.leaves; l++) {
      for (let j = 0; j < forest.width; j++) {
        const k = (t * forest.leaves + l) * forest.width + j;
        treeIds[k] = t;
        nodeIds[k] = forest.splits + l;
        ids[k] = firstId + j;
      }
    }
  }
  return [
    attrInts(`${prefix}_treeids`, treeIds),
    attrInts(`${prefix}_nodeids`, nodeIds),
    attrInts(`${prefix}_ids`, ids),
    attrFloats(`${prefix}_weights`, forest.leafValues),
  ];
}

/**
 * Builds a tree ensemble of `trees` full binary trees of depth `depth`. Every split compares a
 * random feature (uniform over `0..features-1`) with a random threshold from `U(-1, 1)` using
 * `BRANCH_LEQ` (`x <= threshold` goes left), so inputs are expected to be roughly in `[-1, 1]`.
 * Outputs are plain tensors (no `ZipMap`).
 *
 * - `'classifier'` → `TreeEnsembleClassifier`, `post_transform = 'SOFTMAX'`, outputs `label`
 *   (int64 `[N]`) and `probabilities` (float32 `[N, classes]`). Each tree adds a leaf score from
 *   `U(-1, 1)` per class; probabilities are the softmax of the summed scores and the label is
 *   their argmax (first one on ties). With `classes: 2` leaves only carry a class-1 score (class 0
 *   is fixed at 0, so `p1 = sigmoid(score)`), because onnxruntime derives the binary label from
 *   the sign of that one score; at least one leaf score is kept negative so onnxruntime's
 *   "all weights positive" 0.5-threshold rule never applies.
 * - `'regressor'` → `TreeEnsembleRegressor`, `aggregate_function = 'SUM'`, `post_transform =
 *   'NONE'`, output `variable` (float32 `[N, 1]`). Leaf values are `U(-1, 1) / trees`, so the
 *   prediction is the mean of the trees' leaves and stays in `[-1, 1]`.
 *
 * The model imports `ai.onnx.ml` opset 3 besides the default domain.
 *
 * @param opts - Sizes, mode, seed, input name and batch axis.
 * @returns The model with input `[N|batch, features]` float32.
 * @throws RangeError for non-positive sizes, `depth` outside 1..20 or `classes < 2`.
 *
 * @example
 * ```ts
 * const forest = buildTreeEnsemble({ features: 8, trees: 10, depth: 3, classes: 4, mode: 'classifier' });
 * forest.outputs.map((o) => o.name); // ['label', 'probabilities']
 * ```
 */
export function buildTreeEnsemble(opts: TreeEnsembleOptions): BuiltModel {
  const { features, trees, depth, mode } = opts;
  assertPositiveInt('features', features);
  assertPositiveInt('trees', trees);
  if (!Number.isSafeInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new RangeError(`depth must be an integer in 1..${MAX_DEPTH}, got ${String(depth)}`);
  }
  if (mode !== 'classifier' && mode !== 'regressor') {
    throw new RangeError(`mode must be 'classifier' or 'regressor', got ${String(mode)}`);
  }
  const classes = opts.classes ?? 3;
  if (mode === 'classifier' && (!Number.isSafeInteger(classes) || classes < 2)) {
    throw new RangeError(`classes must be an integer ≥ 2, got ${String(classes)}`);
  }
  const seed = opts.seed ?? 1;
  const inputName = opts.inputName ?? 'input';
  const batch = batchDim(opts.batch);
  const next = seededRandom(seed);
  const inputShape = [batch, features];
  const inputs = [{ name: inputName, type: 'float32' as const, shape: inputShape }];

  if (mode === 'regressor') {
    const outputName = 'variable';
    if (inputName === outputName) throw new RangeError(`inputName must not be '${outputName}'`);
    const forest = drawForest(next, features, trees, depth, 1, 1 / trees);
    const outputs: ModelOutput[] = [{ name: outputName, type: 'float32', shape: [batch, 1] }];
    const bytes = encodeModel(
      {
        name: `tree_regressor_${trees}x${depth}`,
        docString: `TreeEnsembleRegressor, ${trees} trees of depth ${depth}, seed ${seed} (@scoreq/onnx-builder)`,
        nodes: [
          node('TreeEnsembleRegressor', [inputName], [outputName], {
            name: 'forest',
            domain: ML_DOMAIN,
            attributes: [
              ...nodeAttributes(forest),
              ...leafAttributes(forest, 'target', 0),
              attrInt('n_targets', 1),
              attrString('aggregate_function', 'SUM'),
              attrString('post_transform', 'NONE'),
            ],
          }),
        ],
        inputs: [tensorValueInfo(inputName, 'float32', inputShape)],
        outputs: outputs.map((o) => tensorValueInfo(o.name, o.type, o.shape)),
      },
      { useMl: true },
    );
    return {
      bytes,
      inputs,
      outputs,
      reference(input: Float32Array, rows: number) {
        assertInputSize(input, rows, features);
        const out = new Float32Array(rows);
        for (let r = 0; r < rows; r++) {
          let sum = 0;
          for (let t = 0; t < trees; t++) sum += forest.leafValues[t * forest.leaves + leafOf(forest, t, input, r * features)] ?? 0;
          out[r] = sum;
        }
        return { [outputName]: out };
      },
    };
  }

  const binary = classes === 2;
  const forest = drawForest(next, features, trees, depth, binary ? 1 : classes, 1);
  if (binary && !forest.leafValues.some((v) => v < 0)) forest.leafValues[0] = -0.5;
  const labelName = 'label';
  const probName = 'probabilities';
  if (inputName === labelName || inputName === probName) throw new RangeError(`inputName must not be '${inputName}'`);
  const outputs: ModelOutput[] = [
    { name: labelName, type: 'int64', shape: [batch] },
    { name: probName, type: 'float32', shape: [batch, classes] },
  ];
  const bytes = encodeModel(
    {
      name: `tree_classifier_${trees}x${depth}x${classes}`,
      docString: `TreeEnsembleClassifier, ${trees} trees of depth ${depth}, ${classes} classes, seed ${seed} (@scoreq/onnx-builder)`,
      nodes: [
        node('TreeEnsembleClassifier', [inputName], [labelName, probName], {
          name: 'forest',
          domain: ML_DOMAIN,
          attributes: [
            ...nodeAttributes(forest),
            ...leafAttributes(forest, 'class', binary ? 1 : 0),
            attrInts(
              'classlabels_int64s',
              Array.from({ length: classes }, (_, i) => i),
            ),
            attrString('post_transform', 'SOFTMAX'),
          ],
        }),
      ],
      inputs: [tensorValueInfo(inputName, 'float32', inputShape)],
      outputs: outputs.map((o) => tensorValueInfo(o.name, o.type, o.shape)),
    },
    { useMl: true },
  );
  return {
    bytes,
    inputs,
    outputs,
    reference(input: Float32Array, rows: number) {
      assertInputSize(input, rows, features);
      const scores = new Float64Array(rows * classes);
      const labels = new BigInt64Array(rows);
      const offset = binary ? 1 : 0;
      for (let r = 0; r < rows; r++) {
        const o = r * classes;
        for (let t = 0; t < trees; t++) {
          const leafBase = (t * forest.leaves + leafOf(forest, t, input, r * features)) * forest.width;
          for (let j = 0; j < forest.width; j++) {
            scores[o + offset + j] = (scores[o + offset + j] ?? 0) + (forest.leafValues[leafBase + j] ?? 0);
          }
        }
        let best = 0;
        for (let c = 1; c < classes; c++) if ((scores[o + c] ?? 0) > (scores[o + best] ?? 0)) best = c;
        labels[r] = BigInt(best);
      }
      softmaxRows(scores, rows, classes);
      return { [labelName]: labels, [probName]: Float32Array.from(scores) };
    },
  };
}
