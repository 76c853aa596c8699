import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { stringInputModel, zipMapClassifier } from '../src/index.js';

/** Name, type and shape of each value, with `'non-tensor'` for sequences and maps. */
function describe(meta: readonly ort.InferenceSession.ValueMetadata[]): { name: string; type: string; shape: (number | string)[] }[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

test('a ZipMap classifier loads with a float input, an int64 label and a non-tensor probabilities output that cannot be returned', async () => {
  const session = await ort.InferenceSession.create(zipMapClassifier(3));
  assert.deepEqual(describe(session.inputMetadata), [{ name: 'input', type: 'float32', shape: ['N', 3] }]);
  assert.deepEqual(describe(session.outputMetadata), [
    { name: 'label', type: 'int64', shape: ['N'] },
    { name: 'probabilities', type: 'non-tensor', shape: [] },
  ]);
  const input = new ort.Tensor('float32', Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.3, 0.2]), [2, 3]);
  const { label } = await session.run({ input }, ['label']);
  assert.deepEqual(Array.from(label!.data as BigInt64Array), [1n, 0n]);
  await assert.rejects(session.run({ input }), /Non tensor type is temporarily not supported/);
});

test('a ZipMap classifier needs a positive number of classes', () => {
  assert.throws(() => zipMapClassifier(0), RangeError);
});

test('a string-input model loads with a string input, and label-encodes it after the numeric columns', async () => {
  const session = await ort.InferenceSession.create(stringInputModel());
  assert.deepEqual(describe(session.inputMetadata), [
    { name: 'x', type: 'float32', shape: ['N', 2] },
    { name: 'city', type: 'string', shape: ['N', 1] },
  ]);
  assert.deepEqual(describe(session.outputMetadata), [{ name: 'y', type: 'float32', shape: ['N', 3] }]);
  const { y } = await session.run({
    x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]),
    city: new ort.Tensor('string', ['paris', 'oslo', 'rome'], [3, 1]),
  });
  assert.deepEqual(Array.from(y!.data as Float32Array), [1, 2, 0, 3, 4, 1, 5, 6, -1]);
});
