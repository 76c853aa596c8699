import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildMlp, REFERENCE_MODELS } from '../src/index.js';
import { decodeModel } from '../src/graph.js';
import { assertClose, asFloat32, assertSignature, BATCHES, floatRef, openSession, outputData, randomRows, rowSums, run, TOLERANCE } from './helpers.js';

test('the small reference MLP loads in onnxruntime with the declared input and output names, types and shapes', async () => {
  const model = buildMlp(REFERENCE_MODELS.small);
  assert.deepEqual(model.inputs, [{ name: 'input', type: 'float32', shape: ['N', 32] }]);
  assert.deepEqual(model.outputs, [{ name: 'probabilities', type: 'float32', shape: ['N', 2] }]);
  assertSignature(await openSession(model), model);
});

test('the small reference MLP matches the reference forward pass for a batch of 1 and of 17, and its rows sum to 1', async () => {
  const model = buildMlp(REFERENCE_MODELS.small);
  const session = await openSession(model);
  for (const rows of BATCHES) {
    const input = randomRows(rows, 32, 100 + rows);
    const actual = outputData(await run(session, model, input, rows), 'probabilities');
    assert.deepEqual(actual.dims, [rows, 2]);
    const expected = floatRef(model.reference(input, rows), 'probabilities');
    assertClose(asFloat32(actual), expected, TOLERANCE, `probabilities (${rows} rows)`);
    for (const sum of rowSums(asFloat32(actual), rows, 2)) assert.ok(Math.abs(sum - 1) < 1e-5, `row sum ${sum}`);
    for (const sum of rowSums(expected, rows, 2)) assert.ok(Math.abs(sum - 1) < 1e-6, `reference row sum ${sum}`);
  }
});

test('the large reference MLP has about 1.8 million weights and matches the reference', async (t) => {
  const started = performance.now();
  const model = buildMlp(REFERENCE_MODELS.large);
  const elapsed = performance.now() - started;
  t.diagnostic(`large MLP build took ${elapsed.toFixed(1)} ms for ${model.bytes.length} bytes`);

  const decoded = decodeModel(model.bytes);
  const weights = (decoded.graph?.initializer ?? []).reduce((n, init) => n + (init.rawData?.length ?? 0) / 4, 0);
  assert.equal(weights, 256 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 10 + 10);

  const session = await openSession(model);
  assertSignature(session, model);
  for (const rows of BATCHES) {
    const input = randomRows(rows, 256, 200 + rows);
    const actual = outputData(await run(session, model, input, rows), 'probabilities');
    assertClose(asFloat32(actual), floatRef(model.reference(input, rows), 'probabilities'), TOLERANCE, `large (${rows} rows)`);
    for (const sum of rowSums(asFloat32(actual), rows, 10)) assert.ok(Math.abs(sum - 1) < 1e-5, `row sum ${sum}`);
  }
});

test('an MLP without a softmax head outputs raw values named output that match the reference', async () => {
  const model = buildMlp({ layers: [12, 24, 16, 4], head: 'none', seed: 5 });
  assert.deepEqual(model.outputs, [{ name: 'output', type: 'float32', shape: ['N', 4] }]);
  const session = await openSession(model);
  assertSignature(session, model);
  for (const rows of BATCHES) {
    const input = randomRows(rows, 12, 300 + rows);
    const actual = outputData(await run(session, model, input, rows), 'output');
    const expected = floatRef(model.reference(input, rows), 'output');
    assertClose(asFloat32(actual), expected, TOLERANCE, `logits (${rows} rows)`);
    assert.ok(
      rowSums(expected, rows, 4).some((s) => Math.abs(s - 1) > 1e-3),
      'raw outputs are not normalised',
    );
  }
});

test('custom input and output names are used in the graph', async () => {
  const model = buildMlp({ layers: [3, 2], inputName: 'features', outputName: 'scores' });
  assert.deepEqual(
    model.inputs.map((i) => i.name),
    ['features'],
  );
  assert.deepEqual(
    model.outputs.map((o) => o.name),
    ['scores'],
  );
  assertSignature(await openSession(model), model);
});

test('a fixed batch of 1 is declared and reported as shape [1, F] and runs one row', async () => {
  const model = buildMlp({ ...REFERENCE_MODELS.small, batch: 1 });
  assert.deepEqual(model.inputs[0]?.shape, [1, 32]);
  assert.deepEqual(model.outputs[0]?.shape, [1, 2]);
  const session = await openSession(model);
  assertSignature(session, model);
  const input = randomRows(1, 32, 7);
  const actual = outputData(await run(session, model, input, 1), 'probabilities');
  assertClose(asFloat32(actual), floatRef(model.reference(input, 1), 'probabilities'), TOLERANCE, 'batch of 1');
});

test('the same seed gives identical bytes and a different seed gives different bytes', () => {
  const a = buildMlp({ layers: [8, 16, 3], seed: 11 });
  const b = buildMlp({ layers: [8, 16, 3], seed: 11 });
  const c = buildMlp({ layers: [8, 16, 3], seed: 12 });
  assert.deepEqual(a.bytes, b.bytes);
  assert.notDeepEqual(a.bytes, c.bytes);
  assert.deepEqual(buildMlp(REFERENCE_MODELS.small).bytes, buildMlp(REFERENCE_MODELS.small).bytes);
});

test('the model declares IR version 8 and the default-domain opset 17 only', () => {
  const decoded = decodeModel(buildMlp(REFERENCE_MODELS.small).bytes);
  assert.equal(Number(decoded.irVersion), 8);
  assert.deepEqual(
    decoded.opsetImport.map((o) => [o.domain, Number(o.version)]),
    [['', 17]],
  );
  assert.deepEqual(
    (decoded.graph?.node ?? []).map((n) => n.opType),
    ['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm', 'Softmax'],
  );
});

test('invalid options are rejected with a RangeError', () => {
  assert.throws(() => buildMlp({ layers: [4] }), RangeError);
  assert.throws(() => buildMlp({ layers: [4, 0, 2] }), RangeError);
  assert.throws(() => buildMlp({ layers: [4, 2.5] }), RangeError);
  assert.throws(() => buildMlp({ layers: [4, 2], batch: 0 }), RangeError);
  assert.throws(() => buildMlp({ layers: [4, 2], inputName: 'x', outputName: 'x' }), RangeError);
  assert.throws(() => buildMlp({ layers: [4, 2] }).reference(new Float32Array(5), 1), RangeError);
});

test('the reference models are frozen so consumers cannot change them for each other', () => {
  assert.ok(Object.isFrozen(REFERENCE_MODELS.small));
  assert.ok(Object.isFrozen(REFERENCE_MODELS.large.layers));
  assert.deepEqual(REFERENCE_MODELS.small.layers, [32, 64, 32, 2]);
  assert.deepEqual(REFERENCE_MODELS.large.layers, [256, 1024, 1024, 512, 10]);
});
