import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTreeEnsemble } from '../src/index.js';
import type { TreeEnsembleOptions } from '../src/index.js';
import { decodeModel } from '../src/graph.js';
import {
  argmaxRows,
  assertClose,
  asFloat32,
  asInt64,
  assertSignature,
  BATCHES,
  floatRef,
  int64Ref,
  openSession,
  outputData,
  randomRows,
  rowSums,
  run,
  TOLERANCE,
} from './helpers.js';

const CLASSIFIERS: TreeEnsembleOptions[] = [
  { features: 10, trees: 20, depth: 4, mode: 'classifier', seed: 3 },
  { features: 10, trees: 20, depth: 4, classes: 2, mode: 'classifier', seed: 3 },
  { features: 16, trees: 60, depth: 6, classes: 5, mode: 'classifier', seed: 8 },
];

test('a tree ensemble classifier declares an int64 label and float probabilities without ZipMap', async () => {
  const model = buildTreeEnsemble({ features: 10, trees: 5, depth: 3, mode: 'classifier' });
  assert.deepEqual(model.inputs, [{ name: 'input', type: 'float32', shape: ['N', 10] }]);
  assert.deepEqual(model.outputs, [
    { name: 'label', type: 'int64', shape: ['N'] },
    { name: 'probabilities', type: 'float32', shape: ['N', 3] },
  ]);
  assertSignature(await openSession(model), model);
  const decoded = decodeModel(model.bytes);
  assert.deepEqual(
    (decoded.graph?.node ?? []).map((n) => `${n.domain}:${n.opType}`),
    ['ai.onnx.ml:TreeEnsembleClassifier'],
  );
  assert.deepEqual(
    decoded.opsetImport.map((o) => [o.domain, Number(o.version)]),
    [
      ['', 17],
      ['ai.onnx.ml', 3],
    ],
  );
});

for (const opts of CLASSIFIERS) {
  const classes = opts.classes ?? 3;
  test(`a ${classes}-class tree ensemble classifier gives labels equal to the argmax of its probabilities and matching the reference`, async () => {
    const model = buildTreeEnsemble(opts);
    const session = await openSession(model);
    assertSignature(session, model);
    const seen = new Set<number>();
    for (const rows of [...BATCHES, 200]) {
      const input = randomRows(rows, opts.features, 500 + rows);
      const results = await run(session, model, input, rows);
      const label = outputData(results, 'label');
      const probs = outputData(results, 'probabilities');
      assert.equal(label.type, 'int64');
      assert.deepEqual(label.dims, [rows]);
      assert.deepEqual(probs.dims, [rows, classes]);
      const labels = Array.from(asInt64(label), Number);
      const p = asFloat32(probs);
      assert.deepEqual(labels, argmaxRows(p, rows, classes), 'label is the argmax of probabilities');
      for (const sum of rowSums(p, rows, classes)) assert.ok(Math.abs(sum - 1) < 1e-5, `row sum ${sum}`);
      const reference = model.reference(input, rows);
      assert.deepEqual(labels, Array.from(int64Ref(reference, 'label'), Number), 'labels match the reference');
      assertClose(p, floatRef(reference, 'probabilities'), TOLERANCE, `probabilities (${rows} rows)`);
      labels.forEach((l) => seen.add(l));
    }
    assert.ok(seen.size >= 2, `the random trees predict more than one class (saw ${[...seen].join(', ')})`);
  });
}

test('a 2-class classifier keeps a negative leaf score so onnxruntime labels by argmax even for tiny forests', async () => {
  for (let seed = 1; seed <= 24; seed++) {
    const model = buildTreeEnsemble({ features: 2, trees: 1, depth: 1, classes: 2, mode: 'classifier', seed });
    const node = decodeModel(model.bytes).graph?.node?.[0];
    const weights = node?.attribute?.find((a) => a.name === 'class_weights')?.floats ?? [];
    assert.equal(weights.length, 2, 'one class-1 score per leaf');
    assert.ok(
      weights.some((w) => w < 0),
      `seed ${seed}: some leaf score is negative`,
    );
    const session = await openSession(model);
    const rows = 40;
    const input = randomRows(rows, 2, seed);
    const results = await run(session, model, input, rows);
    const labels = Array.from(asInt64(outputData(results, 'label')), Number);
    assert.deepEqual(labels, argmaxRows(asFloat32(outputData(results, 'probabilities')), rows, 2), `seed ${seed}`);
    assert.deepEqual(labels, Array.from(int64Ref(model.reference(input, rows), 'label'), Number), `seed ${seed}`);
  }
});

test('a tree ensemble regressor outputs variable [N, 1] matching the reference for a batch of 1 and of 17', async () => {
  const model = buildTreeEnsemble({ features: 12, trees: 50, depth: 5, mode: 'regressor', seed: 21 });
  assert.deepEqual(model.outputs, [{ name: 'variable', type: 'float32', shape: ['N', 1] }]);
  const session = await openSession(model);
  assertSignature(session, model);
  for (const rows of BATCHES) {
    const input = randomRows(rows, 12, 600 + rows);
    const actual = outputData(await run(session, model, input, rows), 'variable');
    assert.deepEqual(actual.dims, [rows, 1]);
    const expected = floatRef(model.reference(input, rows), 'variable');
    assertClose(asFloat32(actual), expected, TOLERANCE, `variable (${rows} rows)`);
    for (const v of expected) assert.ok(Math.abs(v) <= 1, `prediction ${v} is a mean of leaves in [-1, 1]`);
  }
});

test('a tree ensemble with a fixed batch of 1 and a custom input name reports shape [1, F]', async () => {
  const model = buildTreeEnsemble({ features: 4, trees: 3, depth: 2, mode: 'regressor', batch: 1, inputName: 'x' });
  assert.deepEqual(model.inputs, [{ name: 'x', type: 'float32', shape: [1, 4] }]);
  assert.deepEqual(model.outputs, [{ name: 'variable', type: 'float32', shape: [1, 1] }]);
  assertSignature(await openSession(model), model);
});

test('a tree ensemble is byte-identical for the same seed and differs for another seed', () => {
  const opts: TreeEnsembleOptions = { features: 6, trees: 4, depth: 3, mode: 'classifier', seed: 1 };
  assert.deepEqual(buildTreeEnsemble(opts).bytes, buildTreeEnsemble(opts).bytes);
  assert.notDeepEqual(buildTreeEnsemble(opts).bytes, buildTreeEnsemble({ ...opts, seed: 2 }).bytes);
});

test('a tree ensemble rejects invalid sizes with a RangeError', () => {
  assert.throws(() => buildTreeEnsemble({ features: 0, trees: 1, depth: 1, mode: 'regressor' }), RangeError);
  assert.throws(() => buildTreeEnsemble({ features: 2, trees: 0, depth: 1, mode: 'regressor' }), RangeError);
  assert.throws(() => buildTreeEnsemble({ features: 2, trees: 1, depth: 0, mode: 'regressor' }), RangeError);
  assert.throws(() => buildTreeEnsemble({ features: 2, trees: 1, depth: 21, mode: 'regressor' }), RangeError);
  assert.throws(() => buildTreeEnsemble({ features: 2, trees: 1, depth: 1, classes: 1, mode: 'classifier' }), RangeError);
});
