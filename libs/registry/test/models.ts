/**
 * Models the registry tests need that `@scoreq/onnx-builder` does not write: a two-input model,
 * one whose outputs are NaN for negative inputs, an identity, a sequence input, and outputs whose
 * declared shape or type is wrong. Encoded with the same `onnx-proto` messages the builder uses.
 * The ZipMap classifier and the string-input model are shared with the integration tests and
 * come from `@scoreq/onnx-builder` (`zipMapClassifier`, `stringInputModel`). Not a test file.
 */
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';

const proto = onnxProto.onnx;
const FLOAT = 1;
const INT64 = 7;

function tensor(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
}

function encode(graph: onnx.IGraphProto): Uint8Array {
  const opsetImport: onnx.IOperatorSetIdProto[] = [{ domain: '', version: 17 }];
  return new Uint8Array(proto.ModelProto.encode({ irVersion: 8, opsetImport, producerName: 'scoreq-registry-test', graph }).finish());
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

const DOUBLE = 11;

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
