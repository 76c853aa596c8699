/**
 * ModelCodec built from version records whose signatures come from real `pool.load` calls:
 * feature rows and OIP tensors in, typed arrays out; onnxruntime outputs back to rows or tensors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmbeddingLookup, buildLogisticRegression, buildMlp, buildTreeEnsemble, REFERENCE_MODELS, type BuiltModel } from '@scoreq/onnx-builder';
import type { FeatureRow, InputTensor, ModelMetadata, ModelSignature, RowOutput } from '@scoreq/contracts';
import { InferencePool, ModelCodec, type RunReply, type WireTensor } from '../src/index.js';
import { assertClose, floatInput, floatRef, hasCode, int64Ref, modelDir, randomRows, TOLERANCE, versionRecord, type ModelDir } from './helpers.js';

const logistic = buildLogisticRegression({ features: 4, seed: 11 });
const mlp = buildMlp(REFERENCE_MODELS.small);
const classifier = buildTreeEnsemble({ features: 10, trees: 20, depth: 4, classes: 3, mode: 'classifier', seed: 3 });
const regressor = buildTreeEnsemble({ features: 4, trees: 10, depth: 3, mode: 'regressor', seed: 4 });
const embedding = buildEmbeddingLookup({ vocab: 10, dim: 4 });

/** Four features in the column order of the logistic regression's input. */
const CHURN_FEATURES: ModelMetadata['features'] = [
  { name: 'age', scale: { mean: 40, std: 10 } },
  { name: 'plan', categories: { basic: 0, pro: 1, enterprise: 2 } },
  { name: 'visits', default: 3 },
  'tenure',
];

let pool: InferencePool;
let dir: ModelDir;
const models = new Map<string, { model: BuiltModel; path: string; signature: ModelSignature }>();

before(async () => {
  dir = await modelDir('codec');
  pool = new InferencePool({ threads: 2 });
  for (const [key, model] of Object.entries({ logistic, mlp, classifier, regressor, embedding })) {
    const path = await dir.write(key, model);
    const { signature } = await pool.load(key, path);
    models.set(key, { model, path, signature });
  }
});

after(async () => {
  await pool?.close();
  await dir?.remove();
});

function loaded(key: string): { model: BuiltModel; path: string; signature: ModelSignature } {
  const m = models.get(key);
  assert.ok(m, `model ${key} was loaded`);
  return m;
}

function codecFor(key: string, metadata: ModelMetadata): ModelCodec {
  return new ModelCodec(versionRecord(loaded(key).signature, metadata));
}

/** Runs encoded inputs through the pool, asserting success. */
async function run(key: string, inputs: WireTensor[]): Promise<RunReply> {
  const reply = await pool.run({ key, path: loaded(key).path, inputs, fixedBatch: null });
  assert.ok(reply.ok, `run succeeded (${reply.ok ? '' : `${reply.error.code}: ${reply.error.message}`})`);
  return reply;
}

/** Runs `rows` random float rows of a single-input model; returns the outputs and the reference on the same rows. */
async function runRandom(key: string, rows: number, seed: number): Promise<{ outputs: WireTensor[]; expected: Record<string, Float32Array | BigInt64Array> }> {
  const { model } = loaded(key);
  const width = Number(model.inputs[0]!.shape[1]);
  const input = randomRows(rows, width, seed);
  const expected = model.reference(input, rows);
  const reply = await run(key, [floatInput(model.inputs[0]!.name, input, rows)]);
  return { outputs: reply.outputs, expected };
}

function rowsOf(decoded: { rows?: RowOutput[] }): RowOutput[] {
  assert.ok(decoded.rows, 'decode returned rows');
  return decoded.rows;
}

// ---- rows in ---------------------------------------------------------------------------

test('encode turns feature rows into a float32 tensor in metadata order, with defaults, categories and scaling applied', () => {
  const codec = codecFor('logistic', { features: CHURN_FEATURES });
  const encoded = codec.encode({
    rows: [
      { tenure: 2, visits: 5, plan: 'pro', age: 50 },
      { age: 25, plan: 'enterprise', tenure: 0.5 },
      { age: 40, plan: 0, visits: null, tenure: true },
    ],
  });
  assert.equal(encoded.rows, 3);
  assert.equal(encoded.inputs.length, 1);
  const [input] = encoded.inputs;
  assert.equal(input!.name, 'input');
  assert.equal(input!.type, 'float32');
  assert.deepEqual(input!.dims, [3, 4]);
  assert.ok(input!.data instanceof Float32Array);
  // age → (age - 40) / 10; plan → its category number; visits → 3 when missing or null; true → 1.
  assert.deepEqual(Array.from(input!.data), [1, 1, 5, 2, -1.5, 2, 3, 0.5, 0, 0, 3, 1]);
});

test('encoded feature rows run through the pool give the reference output of the encoded values', async () => {
  const codec = codecFor('logistic', { features: CHURN_FEATURES });
  const { inputs, rows } = codec.encode({
    rows: [
      { age: 63, plan: 'basic', tenure: 7 },
      { age: 19, plan: 'pro', visits: 40, tenure: 0 },
    ],
  });
  const encoded = (inputs[0]!.data as Float32Array).slice();
  const reply = await run('logistic', inputs);
  assertClose(reply.outputs[0]!.data, floatRef(logistic.reference(encoded, rows), 'probability'), 'probability');
});

const ROW_ERRORS: { what: string; rows: FeatureRow[]; field: string }[] = [
  { what: 'an unknown feature', rows: [{ age: 41, plan: 'pro', tenure: 1, colour: 'red' }], field: 'rows[0].colour' },
  {
    what: 'a missing feature that has no default',
    rows: [
      { age: 41, plan: 'pro', tenure: 1 },
      { age: 41, plan: 'pro' },
    ],
    field: 'rows[1].tenure',
  },
  { what: 'NaN', rows: [{ age: Number.NaN, plan: 'pro', tenure: 1 }], field: 'rows[0].age' },
  { what: 'a string in a numeric feature', rows: [{ age: '41', plan: 'pro', tenure: 1 }], field: 'rows[0].age' },
  { what: 'an unknown category', rows: [{ age: 41, plan: 'gold', tenure: 1 }], field: 'rows[0].plan' },
];

for (const { what, rows, field } of ROW_ERRORS) {
  test(`encode refuses ${what} with INVALID_INPUT naming ${field}`, () => {
    const codec = codecFor('logistic', { features: CHURN_FEATURES });
    assert.throws(() => codec.encode({ rows }), hasCode('INVALID_INPUT', field));
  });
}

test('encode refuses feature rows for a model whose metadata names no features, asking for tensors', () => {
  const codec = codecFor('mlp', {});
  assert.throws(
    () => codec.encode({ rows: [{ x: 1 }] }),
    (err: unknown) => {
      hasCode('INVALID_INPUT', 'rows')(err);
      assert.match((err as Error).message, /send tensors/);
      return true;
    },
  );
});

test('metadata naming 3 features for an input of 4 columns is refused with INVALID_METADATA', () => {
  assert.throws(
    () => codecFor('logistic', { features: ['age', 'plan', 'tenure'] }),
    (err: unknown) => {
      hasCode('INVALID_METADATA', 'features')(err);
      assert.match((err as Error).message, /3 features.*4 columns/);
      return true;
    },
  );
});

// ---- tensors in ------------------------------------------------------------------------

const GOOD_TENSOR: InputTensor = { name: 'input', datatype: 'FP32', shape: [2, 4], data: [0.5, -1, 2, 0, 1, 1, 1, 1] };

test('encode turns an FP32 OIP tensor into a float32 wire tensor of the same shape', () => {
  const codec = codecFor('logistic', { features: CHURN_FEATURES });
  const encoded = codec.encode({ tensors: [GOOD_TENSOR] });
  assert.equal(encoded.rows, 2);
  assert.deepEqual(
    encoded.inputs.map((t) => ({ name: t.name, type: t.type, dims: t.dims })),
    [{ name: 'input', type: 'float32', dims: [2, 4] }],
  );
  assert.ok(encoded.inputs[0]!.data instanceof Float32Array);
  assert.deepEqual(Array.from(encoded.inputs[0]!.data), GOOD_TENSOR.data);
});

test('encode turns an INT64 OIP tensor into a BigInt64Array the embedding model accepts', async () => {
  const codec = codecFor('embedding', {});
  const encoded = codec.encode({ tensors: [{ name: 'id', datatype: 'INT64', shape: [3, 1], data: [4, 0, 9] }] });
  assert.ok(encoded.inputs[0]!.data instanceof BigInt64Array);
  assert.deepEqual(Array.from(encoded.inputs[0]!.data), [4n, 0n, 9n]);
  const reply = await run('embedding', encoded.inputs);
  assert.deepEqual(Array.from(reply.outputs[0]!.data as Float32Array), Array.from(floatRef(embedding.reference(Float32Array.from([4, 0, 9]), 3), 'embedding')));
});

const TENSOR_ERRORS: { what: string; tensor: InputTensor; field: string }[] = [
  { what: 'a datatype other than the input’s', tensor: { ...GOOD_TENSOR, datatype: 'INT64', data: [1, 2, 3, 4, 5, 6, 7, 8] }, field: 'tensors[0].datatype' },
  { what: 'a column count other than the input’s', tensor: { ...GOOD_TENSOR, shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, field: 'tensors[0].shape' },
  { what: 'a rank other than the input’s', tensor: { ...GOOD_TENSOR, shape: [8], data: [1, 2, 3, 4, 5, 6, 7, 8] }, field: 'tensors[0].shape' },
  { what: 'a data length that does not match the shape', tensor: { ...GOOD_TENSOR, data: [1, 2, 3, 4, 5, 6, 7] }, field: 'tensors[0].data' },
  { what: 'an input name the model lacks', tensor: { ...GOOD_TENSOR, name: 'features' }, field: 'tensors[0].name' },
];

for (const { what, tensor, field } of TENSOR_ERRORS) {
  test(`encode refuses a tensor with ${what} with INVALID_INPUT naming ${field}`, () => {
    const codec = codecFor('logistic', { features: CHURN_FEATURES });
    assert.throws(() => codec.encode({ tensors: [tensor] }), hasCode('INVALID_INPUT', field));
  });
}

// ---- outputs back ----------------------------------------------------------------------

test('decode of a two-class softmax with labels gives the argmax label, its probability and every score', async () => {
  const codec = codecFor('mlp', { output: { kind: 'classification', labels: ['stay', 'churn'] } });
  const rows = 12;
  const { outputs, expected } = await runRandom('mlp', rows, 3);
  const reference = floatRef(expected, 'probabilities');
  const decoded = rowsOf(codec.decode(outputs, false));
  assert.equal(decoded.length, rows);
  decoded.forEach((row, r) => {
    const [stay, churn] = [reference[2 * r]!, reference[2 * r + 1]!];
    assert.equal(row.label, churn > stay ? 'churn' : 'stay', `rows[${r}].label`);
    assertClose([row.score!], [Math.max(stay, churn)], `rows[${r}].score`);
    assert.deepEqual(Object.keys(row.scores!), ['stay', 'churn']);
    assertClose([row.scores!['stay']!, row.scores!['churn']!], [stay, churn], `rows[${r}].scores`);
  });
  assert.equal(new Set(decoded.map((row) => row.label)).size, 2, 'the inputs reach both labels');
});

test('decode of a three-class tree ensemble with labels reads the probabilities, not the int64 label output', async () => {
  const codec = codecFor('classifier', { output: { kind: 'classification', labels: ['low', 'mid', 'high'] } });
  const rows = 30;
  const { outputs, expected } = await runRandom('classifier', rows, 202);
  const labels = Array.from(int64Ref(expected, 'label'), (l) => ['low', 'mid', 'high'][Number(l)]);
  const probabilities = floatRef(expected, 'probabilities');
  const decoded = rowsOf(codec.decode(outputs, false));
  assert.deepEqual(
    decoded.map((row) => row.label),
    labels,
  );
  decoded.forEach((row, r) => {
    const p = probabilities.subarray(3 * r, 3 * r + 3);
    assertClose([row.score!], [Math.max(...p)], `rows[${r}].score`);
    assertClose([row.scores!['low']!, row.scores!['mid']!, row.scores!['high']!], p, `rows[${r}].scores`);
  });
});

test('decode of a one-column probability applies the threshold of the metadata', async () => {
  const rows = 16;
  const input = randomRows(rows, 4, 203);
  const reference = Array.from(floatRef(logistic.reference(input, rows), 'probability'));
  // A threshold between the two middle probabilities puts half the rows on each side, far from any value.
  const sorted = [...reference].sort((a, b) => a - b);
  const threshold = (sorted[rows / 2 - 1]! + sorted[rows / 2]!) / 2;
  assert.ok(Math.abs(threshold - 0.5) > 1e-3, `the threshold ${threshold} differs from the default`);
  const reply = await run('logistic', [floatInput('input', input, rows)]);

  const codec = codecFor('logistic', { features: CHURN_FEATURES, output: { kind: 'classification', labels: ['no', 'yes'], threshold } });
  const decoded = rowsOf(codec.decode(reply.outputs, false));
  decoded.forEach((row, r) => {
    const p = reference[r]!;
    const yes = p >= threshold;
    assert.equal(row.label, yes ? 'yes' : 'no', `rows[${r}].label (p ${p}, threshold ${threshold})`);
    assertClose([row.score!], [yes ? p : 1 - p], `rows[${r}].score`);
    assertClose([row.scores!['no']!, row.scores!['yes']!], [1 - p, p], `rows[${r}].scores`);
  });
  assert.equal(decoded.filter((row) => row.label === 'yes').length, rows / 2);

  // Without labels and threshold: labels '0' and '1', threshold 0.5.
  const plain = rowsOf(codecFor('logistic', { output: { kind: 'classification' } }).decode(reply.outputs, false));
  assert.deepEqual(
    plain.map((row) => row.label),
    reference.map((p) => (p >= 0.5 ? '1' : '0')),
  );
});

test('decode of a one-column regression gives each row its value', async () => {
  const codec = codecFor('regressor', { output: { kind: 'regression' } });
  const rows = 8;
  const { outputs, expected } = await runRandom('regressor', rows, 204);
  const decoded = rowsOf(codec.decode(outputs, false));
  assert.deepEqual(
    decoded.map((row) => Object.keys(row)),
    Array.from({ length: rows }, () => ['value']),
  );
  assertClose(
    decoded.map((row) => row.value!),
    floatRef(expected, 'variable'),
    'value',
  );
});

test('decode with no output kind gives every output of each row by name', async () => {
  const codec = codecFor('classifier', {});
  const rows = 5;
  const { outputs, expected } = await runRandom('classifier', rows, 205);
  const labels = int64Ref(expected, 'label');
  const probabilities = floatRef(expected, 'probabilities');
  const decoded = rowsOf(codec.decode(outputs, false));
  assert.equal(decoded.length, rows);
  decoded.forEach((row, r) => {
    assert.deepEqual(Object.keys(row), ['outputs']);
    assert.deepEqual(row.outputs!['label'], [Number(labels[r])]);
    assertClose(row.outputs!['probabilities']!, probabilities.subarray(3 * r, 3 * r + 3), `rows[${r}].outputs.probabilities`);
  });
});

test('decode as tensors gives OIP tensors with datatype, shape and plain-number data', async () => {
  const codec = codecFor('classifier', { output: { kind: 'classification' } });
  const rows = 6;
  const { outputs, expected } = await runRandom('classifier', rows, 206);
  const decoded = codec.decode(outputs, true);
  assert.equal(decoded.rows, undefined);
  const tensors = decoded.tensors!;
  assert.deepEqual(
    tensors.map((t) => [t.name, t.datatype, t.shape]),
    [
      ['label', 'INT64', [rows]],
      ['probabilities', 'FP32', [rows, 3]],
    ],
  );
  assert.deepEqual(tensors[0]!.data, Array.from(int64Ref(expected, 'label'), Number));
  assert.ok(tensors[1]!.data.every((v) => typeof v === 'number'));
  assertClose(tensors[1]!.data, floatRef(expected, 'probabilities'), 'probabilities', TOLERANCE);

  const wanted = codec.decode(outputs, true, ['probabilities']).tensors!;
  assert.deepEqual(
    wanted.map((t) => t.name),
    ['probabilities'],
  );
});
