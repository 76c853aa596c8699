/**
 * Models scoreq must refuse or treat specially, built for tests and docs. They reproduce what
 * common exporters (skl2onnx) write for models scoreq cannot serve as they are, so the registry's
 * refusals and their advice can be exercised without Python. Unlike the other builders they
 * return only the serialized bytes: their signatures are not all numeric tensors, so they cannot
 * be described by `ModelInput`/`ModelOutput` nor given a `reference()`.
 *
 * @module
 */
import type { onnx } from 'onnx-proto';
import { assertPositiveInt, attrInt, attrInts, attrStrings, DataType, encodeModel, ML_DOMAIN, node, tensorValueInfo } from './graph.js';

/** A `ValueInfoProto` of a sequence of `{int64: float32 tensor}` maps, ZipMap's output type. */
function int64FloatMapSequenceValueInfo(name: string): onnx.IValueInfoProto {
  return {
    name,
    type: { sequenceType: { elemType: { mapType: { keyType: DataType.INT64, valueType: { tensorType: { elemType: DataType.FLOAT } } } } } },
  };
}

/**
 * What skl2onnx writes for a classifier by default: input `input` (float32 [N, classes]),
 * outputs `label` (int64 [N], the ArgMax of the input) and `probabilities` as a ZipMap, a
 * sequence of `{class: probability}` maps. onnxruntime-node loads it but cannot return the
 * sequence of maps, so scoreq refuses it (export with `options={id(model): {'zipmap': False}}`).
 *
 * @param classes - Number of classes, the width of `input` (class labels are `0..classes-1`).
 * @returns The serialized model (uses `ai.onnx.ml` opset 3).
 * @throws RangeError unless `classes` is a positive integer.
 */
export function zipMapClassifier(classes = 2): Uint8Array {
  assertPositiveInt('classes', classes);
  return encodeModel(
    {
      name: 'zipmap',
      nodes: [
        node('ArgMax', ['input'], ['label'], { name: 'argmax', attributes: [attrInt('axis', 1), attrInt('keepdims', 0)] }),
        node('ZipMap', ['input'], ['probabilities'], {
          name: 'zipmap',
          domain: ML_DOMAIN,
          attributes: [
            attrInts(
              'classlabels_int64s',
              Array.from({ length: classes }, (_, i) => i),
            ),
          ],
        }),
      ],
      inputs: [tensorValueInfo('input', 'float32', ['N', classes])],
      outputs: [tensorValueInfo('label', 'int64', ['N']), int64FloatMapSequenceValueInfo('probabilities')],
    },
    { useMl: true },
  );
}

/**
 * What skl2onnx writes for a pipeline with a categorical column: inputs `x` (float32 [N, 2]) and
 * `city` (string [N, 1]); the city is label-encoded in the graph (`'paris'` → 0, `'oslo'` → 1,
 * anything else → -1), cast to float and joined after `x` into output `y` (float32 [N, 3]).
 * scoreq feeds numeric tensors only, so it refuses the string input.
 *
 * @returns The serialized model (uses `ai.onnx.ml` opset 3).
 */
export function stringInputModel(): Uint8Array {
  return encodeModel(
    {
      name: 'string-input',
      nodes: [
        node('LabelEncoder', ['city'], ['code'], {
          name: 'encode',
          domain: ML_DOMAIN,
          attributes: [attrStrings('keys_strings', ['paris', 'oslo']), attrInts('values_int64s', [0, 1]), attrInt('default_int64', -1)],
        }),
        node('Cast', ['code'], ['codeFloat'], { name: 'cast', attributes: [attrInt('to', DataType.FLOAT)] }),
        node('Concat', ['x', 'codeFloat'], ['y'], { name: 'concat', attributes: [attrInt('axis', 1)] }),
      ],
      inputs: [tensorValueInfo('x', 'float32', ['N', 2]), tensorValueInfo('city', 'string', ['N', 1])],
      outputs: [tensorValueInfo('y', 'float32', ['N', 3])],
    },
    { useMl: true },
  );
}
