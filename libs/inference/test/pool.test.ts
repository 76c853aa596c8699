/**
 * InferencePool against real onnxruntime sessions in real Piscina threads: signatures read at
 * load, load failures, batched runs checked against each builder's pure-JS reference, fixed
 * batch models, and inference failures returned as values.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildEmbeddingLookup,
  buildLogisticRegression,
  buildMlp,
  buildTreeEnsemble,
  REFERENCE_MODELS,
  stringInputModel,
  zipMapClassifier,
  type BuiltModel,
} from '@scoreq/onnx-builder';
import { InferencePool, type FailedReply, type RunReply } from '../src/index.js';
import { assertClose, floatInput, floatRef, hasCode, idInput, int64Ref, modelDir, output, randomRows, type ModelDir } from './helpers.js';

const mlp = buildMlp(REFERENCE_MODELS.small);
const mlpBatch1 = buildMlp({ ...REFERENCE_MODELS.small, batch: 1 });
const logistic = buildLogisticRegression({ features: 6, seed: 5 });
const forest = buildTreeEnsemble({ features: 10, trees: 20, depth: 4, classes: 3, mode: 'classifier', seed: 3 });
const embedding = buildEmbeddingLookup({ vocab: 10, dim: 4, seed: 7 });

let pool: InferencePool;
let dir: ModelDir;
const paths: Record<'mlp' | 'mlpBatch1' | 'logistic' | 'forest' | 'embedding' | 'notOnnx' | 'truncated', string> = {
  mlp: '',
  mlpBatch1: '',
  logistic: '',
  forest: '',
  embedding: '',
  notOnnx: '',
  truncated: '',
};

before(async () => {
  dir = await modelDir('pool');
  pool = new InferencePool({ threads: 2 });
  paths.mlp = await dir.write('mlp', mlp);
  paths.mlpBatch1 = await dir.write('mlp-batch1', mlpBatch1);
  paths.logistic = await dir.write('logistic', logistic);
  paths.forest = await dir.write('forest', forest);
  paths.embedding = await dir.write('embedding', embedding);
  paths.notOnnx = join(dir.path, 'not-onnx.onnx');
  await writeFile(paths.notOnnx, 'this is a text file, not an ONNX model\n');
  paths.truncated = join(dir.path, 'truncated.onnx');
  await writeFile(paths.truncated, mlp.bytes.subarray(0, Math.floor(mlp.bytes.length / 2)));
});

after(async () => {
  await pool?.close();
  await dir?.remove();
});

/** Runs `rows` float rows of a single-input model through the pool and returns the reply, asserting success. */
async function runRows(key: string, path: string, model: BuiltModel, input: Float32Array, rows: number, fixedBatch: number | null = null): Promise<RunReply> {
  const name = model.inputs[0]!.name;
  // The pool transfers the input buffer to the thread, so the caller keeps a copy.
  const reply = await pool.run({ key, path, inputs: [floatInput(name, input.slice(), rows)], fixedBatch });
  assert.ok(reply.ok, `run succeeded (${reply.ok ? '' : `${reply.error.code}: ${reply.error.message}`})`);
  return reply;
}

function failed(reply: RunReply | FailedReply): FailedReply {
  assert.equal(reply.ok, false, 'the run failed');
  return reply as FailedReply;
}

test('the pool refuses a thread count that is not a positive integer', () => {
  assert.throws(() => new InferencePool({ threads: 0 }), hasCode('INVALID_OPTION', 'threads'));
  assert.throws(() => new InferencePool({ threads: 1.5 }), hasCode('INVALID_OPTION', 'threads'));
});

test('load returns the signature of a model whose batch axis is dynamic', async () => {
  const loaded = await pool.load('mlp@1', paths.mlp);
  assert.equal(loaded.ok, true);
  assert.deepEqual(loaded.signature, {
    inputs: [{ name: 'input', type: 'float32', shape: ['N', 32] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: ['N', 2] }],
    batch: { dynamic: true, size: null },
  });
});

test('load reports a fixed batch of size 1 for a model built with batch: 1', async () => {
  const loaded = await pool.load('mlp-batch1@1', paths.mlpBatch1);
  assert.deepEqual(loaded.signature, {
    inputs: [{ name: 'input', type: 'float32', shape: [1, 32] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: [1, 2] }],
    batch: { dynamic: false, size: 1 },
  });
});

test('load returns both outputs of a tree ensemble classifier, the int64 label first', async () => {
  const loaded = await pool.load('forest@1', paths.forest);
  assert.deepEqual(loaded.signature.outputs, [
    { name: 'label', type: 'int64', shape: ['N'] },
    { name: 'probabilities', type: 'float32', shape: ['N', 3] },
  ]);
});

test('load refuses a model with a non-tensor output (ZipMap) or a string input, naming each and saying how to export it', async () => {
  const zipMap = join(dir.path, 'zipmap.onnx');
  await writeFile(zipMap, zipMapClassifier());
  await assert.rejects(pool.load('zipmap@1', zipMap), (err: Error & { details?: Record<string, unknown> }) => {
    hasCode('MODEL_LOAD_FAILED')(err);
    assert.match(err.message, /^outputs onnxruntime-node cannot return as numeric tensors: probabilities .*options=\{id\(model\): \{'zipmap': False\}\}/);
    assert.deepEqual(err.details, { unsupportedInputs: [], nonTensorOutputs: ['probabilities'] });
    return true;
  });
  const strings = join(dir.path, 'string-input.onnx');
  await writeFile(strings, stringInputModel());
  await assert.rejects(pool.load('string-input@1', strings), (err: Error & { details?: Record<string, unknown> }) => {
    hasCode('MODEL_LOAD_FAILED')(err);
    assert.match(err.message, /^inputs scoreq cannot feed: input 'city' is a string tensor; .*features\[\]\.categories/);
    assert.deepEqual(err.details, { unsupportedInputs: [{ name: 'city', type: 'string' }], nonTensorOutputs: [] });
    return true;
  });
});

test('load of a file that is not ONNX throws a ScoreqError with code MODEL_LOAD_FAILED naming the file', async () => {
  await assert.rejects(pool.load('not-onnx@1', paths.notOnnx), (err: unknown) => {
    hasCode('MODEL_LOAD_FAILED')(err);
    assert.match((err as Error).message, /not-onnx\.onnx/);
    return true;
  });
});

test('load of a truncated model file throws a ScoreqError with code MODEL_LOAD_FAILED', async () => {
  await assert.rejects(pool.load('truncated@1', paths.truncated), hasCode('MODEL_LOAD_FAILED'));
});

test('run on a stacked batch of the small MLP equals its reference to 1e-6', async () => {
  await pool.load('mlp@1', paths.mlp);
  const rows = 17;
  const input = randomRows(rows, 32, 101);
  const reply = await runRows('mlp@1', paths.mlp, mlp, input, rows);
  const probabilities = output(reply.outputs, 'probabilities');
  assert.equal(probabilities.type, 'float32');
  assert.deepEqual(probabilities.dims, [rows, 2]);
  assertClose(probabilities.data, floatRef(mlp.reference(input, rows), 'probabilities'), 'probabilities');
});

test('run on a stacked batch of the logistic regression equals its reference to 1e-6', async () => {
  await pool.load('logistic@1', paths.logistic);
  const rows = 9;
  const input = randomRows(rows, 6, 102);
  const reply = await runRows('logistic@1', paths.logistic, logistic, input, rows);
  const probability = output(reply.outputs, 'probability');
  assert.deepEqual(probability.dims, [rows, 1]);
  assertClose(probability.data, floatRef(logistic.reference(input, rows), 'probability'), 'probability');
});

test('run on a stacked batch of a tree ensemble classifier gives the reference labels and probabilities', async () => {
  await pool.load('forest@1', paths.forest);
  const rows = 40;
  const input = randomRows(rows, 10, 103);
  const expected = forest.reference(input, rows);
  const reply = await runRows('forest@1', paths.forest, forest, input, rows);
  const label = output(reply.outputs, 'label');
  const probabilities = output(reply.outputs, 'probabilities');
  assert.equal(label.type, 'int64');
  assert.deepEqual(label.dims, [rows]);
  assert.ok(label.data instanceof BigInt64Array, 'labels arrive as a BigInt64Array');
  assert.deepEqual(Array.from(label.data), Array.from(int64Ref(expected, 'label')));
  assert.deepEqual(probabilities.dims, [rows, 3]);
  assertClose(probabilities.data, floatRef(expected, 'probabilities'), 'probabilities');
  assert.ok(new Set(Array.from(label.data)).size > 1, 'the inputs reach more than one class');
});

test('run with a list of output names returns only those outputs', async () => {
  const rows = 4;
  const input = randomRows(rows, 10, 104);
  const reply = await pool.run({
    key: 'forest@1',
    path: paths.forest,
    inputs: [floatInput('input', input.slice(), rows)],
    outputs: ['probabilities'],
    fixedBatch: null,
  });
  assert.ok(reply.ok);
  assert.deepEqual(
    reply.outputs.map((o) => o.name),
    ['probabilities'],
  );
  assertClose(reply.outputs[0]!.data, floatRef(forest.reference(input, rows), 'probabilities'), 'probabilities');
});

test('run loads the model from its path in a thread that has no session for the key yet', async () => {
  const rows = 3;
  const input = randomRows(rows, 6, 105);
  const reply = await runRows('logistic@never-loaded', paths.logistic, logistic, input, rows);
  assertClose(output(reply.outputs, 'probability').data, floatRef(logistic.reference(input, rows), 'probability'), 'probability');
});

test('a fixed-batch-1 model given 5 rows runs them as 5 calls and returns 5 rows equal to the reference', async () => {
  await pool.load('mlp-batch1@1', paths.mlpBatch1);
  const rows = 5;
  const input = randomRows(rows, 32, 106);

  // In one call onnxruntime refuses 5 rows for a batch axis fixed at 1 …
  const whole = await pool.run({ key: 'mlp-batch1@1', path: paths.mlpBatch1, inputs: [floatInput('input', input.slice(), rows)], fixedBatch: null });
  assert.equal(failed(whole).error.code, 'INFERENCE_FAILED');

  // … so with fixedBatch 1 the thread runs one row per call and concatenates the results.
  const reply = await runRows('mlp-batch1@1', paths.mlpBatch1, mlpBatch1, input, rows, 1);
  const probabilities = output(reply.outputs, 'probabilities');
  assert.deepEqual(probabilities.dims, [rows, 2]);
  assertClose(probabilities.data, floatRef(mlpBatch1.reference(input, rows), 'probabilities'), 'probabilities');
});

test('a fixed-batch model given a row count that is not a multiple of its batch size fails with INVALID_INPUT as a value', async () => {
  const reply = await pool.run({ key: 'mlp-batch1@1', path: paths.mlpBatch1, inputs: [floatInput('input', randomRows(5, 32, 107), 5)], fixedBatch: 2 });
  const failure = failed(reply);
  assert.equal(failure.error.code, 'INVALID_INPUT');
  assert.match(failure.error.message, /exactly 2 rows/);
});

test('an embedding lookup returns the table rows of in-range ids', async () => {
  await pool.load('embedding@1', paths.embedding);
  const ids = [0, 3, 9, 3];
  const reply = await pool.run({ key: 'embedding@1', path: paths.embedding, inputs: [idInput('id', ids)], fixedBatch: null });
  assert.ok(reply.ok);
  const rows = output(reply.outputs, 'embedding');
  assert.deepEqual(rows.dims, [4, 4]);
  assert.deepEqual(Array.from(rows.data as Float32Array), Array.from(floatRef(embedding.reference(Float32Array.from(ids), ids.length), 'embedding')));
});

test('an embedding lookup with an out-of-range id returns INFERENCE_FAILED as a value, and the thread keeps serving', async () => {
  const reply = await pool.run({ key: 'embedding@1', path: paths.embedding, inputs: [idInput('id', [2, 30])], fixedBatch: null });
  const failure = failed(reply);
  assert.equal(failure.error.code, 'INFERENCE_FAILED');
  assert.match(failure.error.message, /out of data bounds/);

  // The pool keeps answering: the failure was a value, no thread died.
  const replies = await Promise.all([0, 1].map(() => pool.run({ key: 'embedding@1', path: paths.embedding, inputs: [idInput('id', [1])], fixedBatch: null })));
  for (const r of replies) assert.equal(r.ok, true);
});

test('a released version is freed in every idle thread at once, without waiting for a batch to carry it', async () => {
  const key = 'released@1';
  const path = await dir.write('released', logistic);
  await pool.load(key, path);
  await rm(path);
  const rows = 3;
  const input = randomRows(rows, 6, 11);
  await runRows(key, path, logistic, input, rows);
  await pool.release(key);
  assert.equal(pool.releasing, 0, 'every thread released it');
  const after = await pool.run({ key, path, inputs: [floatInput(logistic.inputs[0]!.name, input.slice(), rows)], fixedBatch: null });
  // The session is gone: the thread had to load the (deleted) file again.
  assert.equal(failed(after).error.code, 'MODEL_LOAD_FAILED');
});
