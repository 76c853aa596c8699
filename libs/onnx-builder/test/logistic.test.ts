import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildLogisticRegression } from '../src/index.js';
import { asFloat32, assertClose, assertSignature, BATCHES, floatRef, openSession, outputData, randomRows, run, TOLERANCE } from './helpers.js';

test('a logistic regression declares one probability column and loads with that signature', async () => {
  const model = buildLogisticRegression({ features: 20, seed: 4 });
  assert.deepEqual(model.inputs, [{ name: 'input', type: 'float32', shape: ['N', 20] }]);
  assert.deepEqual(model.outputs, [{ name: 'probability', type: 'float32', shape: ['N', 1] }]);
  assertSignature(await openSession(model), model);
});

test('a logistic regression matches the reference for a batch of 1 and of 17 with values in (0, 1)', async () => {
  const model = buildLogisticRegression({ features: 20, seed: 4 });
  const session = await openSession(model);
  for (const rows of BATCHES) {
    const input = randomRows(rows, 20, 400 + rows);
    const actual = outputData(await run(session, model, input, rows), 'probability');
    assert.deepEqual(actual.dims, [rows, 1]);
    assertClose(asFloat32(actual), floatRef(model.reference(input, rows), 'probability'), TOLERANCE, `probability (${rows} rows)`);
    for (const p of asFloat32(actual)) assert.ok(p > 0 && p < 1, `probability ${p}`);
  }
});

test('a logistic regression with a fixed batch of 1 and custom names reports shape [1, F]', async () => {
  const model = buildLogisticRegression({ features: 6, batch: 1, inputName: 'x', outputName: 'p' });
  assert.deepEqual(model.inputs, [{ name: 'x', type: 'float32', shape: [1, 6] }]);
  assert.deepEqual(model.outputs, [{ name: 'p', type: 'float32', shape: [1, 1] }]);
  const session = await openSession(model);
  assertSignature(session, model);
  const input = randomRows(1, 6, 9);
  assertClose(asFloat32(outputData(await run(session, model, input, 1), 'p')), floatRef(model.reference(input, 1), 'p'), TOLERANCE, 'p');
});

test('a logistic regression is byte-identical for the same seed and differs for another seed', () => {
  assert.deepEqual(buildLogisticRegression({ features: 8, seed: 2 }).bytes, buildLogisticRegression({ features: 8, seed: 2 }).bytes);
  assert.notDeepEqual(buildLogisticRegression({ features: 8, seed: 2 }).bytes, buildLogisticRegression({ features: 8, seed: 3 }).bytes);
});

test('a logistic regression rejects a non-positive feature count', () => {
  assert.throws(() => buildLogisticRegression({ features: 0 }), RangeError);
});
