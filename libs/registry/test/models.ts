/**
 * Models the registry tests need that `@scoreq/onnx-builder` does not write: a scikit-learn
 * style classifier with a ZipMap output (a sequence of maps), a two-input model, one whose
 * outputs are NaN for negative inputs, string and sequence inputs, and outputs whose declared
 * shape or type is wrong. Encoded with the same `onnx-proto` messages the builder uses. Not a
 * test file.
 */
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';

const proto = onnxProto.onnx;
const FLOAT = 1;
const INT64 = 7;

function tensor(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
}

function encode(graph: onnx.IGraphProto, ml = false): Uint8Array {
  const opsetImport: onnx.IOperatorSetIdProto[] = [{ domain: '', version: 17 }];
  if (ml) opsetImport.push({ domain: 'ai.onnx.ml', version: 3 });
  return new Uint8Array(proto.ModelProto.encode({ irVersion: 8, opsetImport, producerName: 'scoreq-registry-test', graph }).finish());
}

/**
 * What skl2onnx writes for a classifier by default: `label` (int64 tensor) and
 * `probabilities` as ZipMap, a sequence of {class: probability} maps, which onnxruntime-node
 * loads but cannot return.
 */
export function zipMapClassifier(features = 2): Uint8Array {
  const A = proto.AttributeProto.AttributeType;
  return encode(
    {
      name: 'zipmap',
      node: [
        {
          opType: 'ArgMax',
          input: ['input'],
          output: ['label'],
          name: 'argmax',
          attribute: [
            { name: 'axis', type: A.INT, i: 1 },
            { name: 'keepdims', type: A.INT, i: 0 },
          ],
        },
        {
          opType: 'ZipMap',
          domain: 'ai.onnx.ml',
          input: ['input'],
          output: ['probabilities'],
          name: 'zipmap',
          attribute: [{ name: 'classlabels_int64s', type: A.INTS, ints: Array.from({ length: features }, (_, i) => i) }],
        },
      ],
      input: [tensor('input', FLOAT, ['N', features])],
      output: [
        tensor('label', INT64, ['N']),
        { name: 'probabilities', type: { sequenceType: { elemType: { mapType: { keyType: INT64, valueType: { tensorType: { elemType: FLOAT } } } } } } },
      ],
    },
    true,
  );
}

/** `sum = a + b`, two [N, width] float inputs. */
export function twoInputAdd(width = 3): Uint8Array {
  return encode({
    name: 'add',
    node: [{ opType: 'Add', input: ['a', 'b'], output: ['sum'], name: 'add' }],
    input: [tensor('a', FLOAT, ['N', width]), tensor('b', FLOAT, ['N', width])],
    output: [tensor('sum', FLOAT, ['N', width])],
  });
}

/** `y = log(x)`: NaN for every negative input, so generated samples produce non-finite outputs. */
export function logModel(width = 3): Uint8Array {
  return encode({
    name: 'log',
    node: [{ opType: 'Log', input: ['input'], output: ['y'], name: 'log' }],
    input: [tensor('input', FLOAT, ['N', width])],
    output: [tensor('y', FLOAT, ['N', width])],
  });
}

/** `y = x`, an [N, width] float identity: outputs are exactly the inputs. */
export function identityModel(width = 3): Uint8Array {
  return encode({
    name: 'identity',
    node: [{ opType: 'Identity', input: ['input'], output: ['y'], name: 'identity' }],
    input: [tensor('input', FLOAT, ['N', width])],
    output: [tensor('y', FLOAT, ['N', width])],
  });
}

const STRING = 8;
const DOUBLE = 11;

/**
 * What skl2onnx writes for a pipeline with a categorical column: `x` [N, 2] floats and `city`
 * [N, 1] strings, encoded in the graph (LabelEncoder) and joined into `y` [N, 3].
 */
export function stringInputModel(): Uint8Array {
  const A = proto.AttributeProto.AttributeType;
  const utf8 = new TextEncoder();
  return encode(
    {
      name: 'string-input',
      node: [
        {
          opType: 'LabelEncoder',
          domain: 'ai.onnx.ml',
          input: ['city'],
          output: ['code'],
          name: 'encode',
          attribute: [
            { name: 'keys_strings', type: A.STRINGS, strings: ['paris', 'oslo'].map((k) => utf8.encode(k)) },
            { name: 'values_int64s', type: A.INTS, ints: [0, 1] },
            { name: 'default_int64', type: A.INT, i: -1 },
          ],
        },
        { opType: 'Cast', input: ['code'], output: ['codeFloat'], name: 'cast', attribute: [{ name: 'to', type: A.INT, i: FLOAT }] },
        { opType: 'Concat', input: ['x', 'codeFloat'], output: ['y'], name: 'concat', attribute: [{ name: 'axis', type: A.INT, i: 1 }] },
      ],
      input: [tensor('x', FLOAT, ['N', 2]), tensor('city', STRING, ['N', 1])],
      output: [tensor('y', FLOAT, ['N', 3])],
    },
    true,
  );
}

/** `n = SequenceLength(items)`: its only input is a sequence of tensors, not a tensor. */
export function sequenceInputModel(): Uint8Array {
  return encode({
    name: 'sequence-input',
    node: [{ opType: 'SequenceLength', input: ['items'], output: ['n'], name: 'length' }],
    input: [{ name: 'items', type: { sequenceType: { elemType: { tensorType: { elemType: FLOAT } } } } }],
    output: [tensor('n', INT64, [])],
  });
}

/**
 * Declares output `y` as [N, 3] but returns its [N, 2] input unchanged: the reshape to its own
 * shape hides the real shape from onnxruntime's shape inference, so the declaration stands.
 */
export function misdeclaredShapeModel(): Uint8Array {
  return encode({
    name: 'misdeclared-shape',
    node: [
      { opType: 'Shape', input: ['input'], output: ['shape'], name: 'shape' },
      { opType: 'Reshape', input: ['input', 'shape'], output: ['y'], name: 'reshape' },
    ],
    input: [tensor('input', FLOAT, ['N', 2])],
    output: [tensor('y', FLOAT, ['N', 3])],
  });
}

/** Declares output `y` as float64 while the graph makes float32. */
export function misdeclaredTypeModel(): Uint8Array {
  return encode({
    name: 'misdeclared-type',
    node: [{ opType: 'Identity', input: ['input'], output: ['y'], name: 'identity' }],
    input: [tensor('input', FLOAT, ['N', 2])],
    output: [tensor('y', DOUBLE, ['N', 2])],
  });
}
