/**
 * Models the registry tests need that `@scoreq/onnx-builder` does not write: a scikit-learn
 * style classifier with a ZipMap output (a sequence of maps), a two-input model and one whose
 * outputs are NaN for negative inputs. Encoded with the same `onnx-proto` messages the builder
 * uses. Not a test file.
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
