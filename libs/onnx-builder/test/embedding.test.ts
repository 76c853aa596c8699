import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildEmbeddingLookup } from '../src/index.js';

test('an embedding lookup returns the table rows of the given ids, as its reference does', async () => {
  const model = buildEmbeddingLookup({ vocab: 10, dim: 4, seed: 7 });
  const session = await ort.InferenceSession.create(model.bytes);
  const out = await session.run({ id: new ort.Tensor('int64', BigInt64Array.from([1n, 3n, 9n]), [3, 1]) });
  const expected = model.reference(Float32Array.from([1, 3, 9]), 3)['embedding'] as Float32Array;
  assert.deepEqual(out['embedding']!.dims, [3, 4]);
  assert.deepEqual(Array.from(out['embedding']!.data as Float32Array), Array.from(expected));
});

test('an embedding lookup with an id outside the table fails inside onnxruntime', async () => {
  const model = buildEmbeddingLookup({ vocab: 10, dim: 4 });
  const session = await ort.InferenceSession.create(model.bytes, { logSeverityLevel: 4 });
  await assert.rejects(session.run({ id: new ort.Tensor('int64', BigInt64Array.from([30n]), [1, 1]) }), /out of data bounds/);
});
