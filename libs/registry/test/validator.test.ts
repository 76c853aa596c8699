/**
 * ModelValidator against real onnxruntime sessions in a real pool: what it refuses at
 * inspection, what metadata it refuses, and what validation reports (samples, outputs,
 * expected values, comparison with another version, fixed batch axes).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ModelMetadata, ModelVersionRecord } from '@scoreq/contracts';
import { InferencePool } from '@scoreq/inference';
import { buildEmbeddingLookup, buildLogisticRegression, buildMlp, REFERENCE_MODELS, stringInputModel, zipMapClassifier } from '@scoreq/onnx-builder';
import { formatValidationReport, ModelValidator, sha256Hex, type VersionFile } from '../src/index.js';
import { hasCode } from './helpers.js';
import { identityModel, logModel, misdeclaredShapeModel, misdeclaredTypeModel, sequenceInputModel, twoInputAdd } from './models.js';

let dir: string;
let pool: InferencePool;
let validator: ModelValidator;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scoreq-validator-'));
  pool = new InferencePool({ threads: 1 });
  validator = new ModelValidator(pool, { sampleRows: 8 });
});
after(async () => {
  await pool?.close();
  await rm(dir, { recursive: true, force: true });
});

const features = (n: number): string[] => Array.from({ length: n }, (_, i) => `f${i}`);

/** Writes bytes to a file, inspects them and returns a version record with `metadata`. */
async function version(bytes: Uint8Array, metadata: ModelMetadata, number = '1'): Promise<VersionFile> {
  const sha256 = sha256Hex(bytes);
  const path = join(dir, `${sha256}.onnx`);
  await writeFile(path, bytes);
  const signature = await validator.inspect(sha256, path, `test v${number}`);
  const record: ModelVersionRecord = { version: number, sha256, size: bytes.length, createdAt: '', signature, metadata };
  return { model: 'm', record, path };
}

async function file(name: string, bytes: Uint8Array | string): Promise<{ sha: string; path: string }> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { sha: sha256Hex(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes), path };
}

test('inspect reads the signature onnxruntime reports', async () => {
  const { record } = await version(buildMlp(REFERENCE_MODELS.small).bytes, {});
  assert.deepEqual(record.signature, {
    inputs: [{ name: 'input', type: 'float32', shape: ['N', 32] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: ['N', 2] }],
    batch: { dynamic: true, size: null },
  });
});

test('a file that is not ONNX and a truncated model are refused with MODEL_INVALID, ORT’s reason and what to do', async () => {
  const text = await file('text.onnx', 'not a model at all\n');
  await assert.rejects(
    validator.inspect(text.sha, text.path, 'model file x.onnx'),
    hasCode('MODEL_INVALID', 'file', /^model file x\.onnx is not a model onnxruntime can load: .*Protobuf parsing failed.*Push a complete \.onnx file/),
  );
  const mlp = buildMlp(REFERENCE_MODELS.small).bytes;
  const half = await file('half.onnx', mlp.subarray(0, mlp.length >> 1));
  await assert.rejects(validator.inspect(half.sha, half.path, 'half'), (err: Error) => {
    hasCode('MODEL_INVALID', 'file')(err);
    assert.doesNotMatch(err.message, new RegExp(dir), 'the message does not name the cache file');
    return true;
  });
});

test('a ZipMap output (sequence of maps) is refused at inspection with how to export without it', async () => {
  const zip = await file('zipmap.onnx', zipMapClassifier());
  await assert.rejects(
    validator.inspect(zip.sha, zip.path, 'the classifier'),
    hasCode(
      'MODEL_INVALID',
      'file',
      /outputs onnxruntime-node cannot return as numeric tensors: probabilities .*ZipMap.*options=\{id\(model\): \{'zipmap': False\}\}/,
    ),
  );
});

test('a string input is refused at inspection, naming the input, its type and how to feed categories as numbers', async () => {
  const model = await file('string-input.onnx', stringInputModel());
  await assert.rejects(validator.inspect(model.sha, model.path, 'the pipeline'), (err: Error & { details?: Record<string, unknown> }) => {
    hasCode(
      'MODEL_INVALID',
      'file',
      /^the pipeline has inputs scoreq cannot feed: input 'city' is a string tensor; scoreq feeds numeric tensors only: encode categories as numbers .*metadata features\[\]\.categories/,
    )(err);
    assert.doesNotMatch(err.message, /truncated|Push a complete/, 'not the advice for a broken file');
    assert.deepEqual(err.details?.['inputs'], [{ name: 'city', type: 'string' }]);
    return true;
  });
});

test('a non-tensor input (a sequence) is refused at inspection the same way', async () => {
  const model = await file('sequence-input.onnx', sequenceInputModel());
  await assert.rejects(
    validator.inspect(model.sha, model.path, 'the model'),
    hasCode(
      'MODEL_INVALID',
      'file',
      /^the model has inputs scoreq cannot feed: input 'items' is not a tensor \(a sequence or map\); scoreq feeds numeric tensors only/,
    ),
  );
});

test('an output declared with the wrong dtype is refused at load, with onnxruntime’s reason and advice for the graph, not for a truncated file', async () => {
  const model = await file('misdeclared-type.onnx', misdeclaredTypeModel());
  await assert.rejects(validator.inspect(model.sha, model.path, 'the model'), (err: Error) => {
    hasCode(
      'MODEL_INVALID',
      'file',
      /^the model is not a model onnxruntime can load: .*tensor\(double\).*tensor\(float\).*check_model\(model, full_check=True\)/,
    )(err);
    assert.doesNotMatch(err.message, /truncated/);
    return true;
  });
});

test('an output that comes back in another shape than declared fails validation, naming the output and the axis', async () => {
  const v = await version(misdeclaredShapeModel(), {});
  assert.deepEqual(v.record.signature.outputs, [{ name: 'y', type: 'float32', shape: ['N', 3] }]);
  const report = await validator.validate(v);
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems, ["output 'y' has 2 on axis 1 (dims [8, 2]); expected 3 for 8 input rows"]);
});

test('metadata naming an input or output the model lacks is refused, naming the field', async () => {
  const v = await version(buildLogisticRegression({ features: 4 }).bytes, {});
  const check = (metadata: ModelMetadata): ModelVersionRecord => ({ ...v.record, metadata });
  assert.throws(
    () => validator.checkMetadata(check({ input: 'features', features: features(4) })),
    hasCode('INVALID_METADATA', 'input', /names input 'features', which the model lacks \(inputs: input\)/),
  );
  assert.throws(
    () => validator.checkMetadata(check({ output: { name: 'score', kind: 'raw' } })),
    hasCode('INVALID_METADATA', 'output.name', /lacks \(outputs: probability\)/),
  );
});

test('features that cannot feed the model are refused: wrong count, several inputs, duplicates, labels', async () => {
  const lr = await version(buildLogisticRegression({ features: 4 }).bytes, {});
  const check = (metadata: ModelMetadata): ModelVersionRecord => ({ ...lr.record, metadata });
  assert.throws(
    () => validator.checkMetadata(check({ features: features(3) })),
    hasCode('INVALID_METADATA', 'features', /3 features but input 'input' has 4 columns/),
  );
  assert.throws(() => validator.checkMetadata(check({ features: ['a', 'a', 'b', 'c'] })), hasCode('INVALID_METADATA', 'features', /'a' twice/));
  assert.throws(
    () => validator.checkMetadata(check({ features: features(4), output: { kind: 'classification', labels: ['a', 'b', 'c'] } })),
    hasCode('INVALID_METADATA', 'output.labels', /3 labels but output 'probability' has 1 column \(a positive-class probability: give 2 labels/),
  );
  const two = await version(twoInputAdd(3), {});
  assert.throws(
    () => validator.checkMetadata({ ...two.record, metadata: { features: features(3) } }),
    hasCode('INVALID_METADATA', 'features', /2 inputs \(a float32 \[N, 3\], b float32 \[N, 3\]\).*send tensors/),
  );
  assert.doesNotThrow(() => validator.checkMetadata({ ...two.record, metadata: {} }), 'a multi-input model without features takes tensors');
});

test('samples and expected values that do not fit are refused', async () => {
  const lr = await version(buildLogisticRegression({ features: 2 }).bytes, {});
  const check = (metadata: ModelMetadata): ModelVersionRecord => ({ ...lr.record, metadata });
  assert.throws(
    () =>
      validator.checkMetadata(
        check({
          features: ['a', 'b'],
          samples: [
            { a: 1, b: 2 },
            { a: 1, c: 2 },
          ],
        }),
      ),
    hasCode('INVALID_METADATA', 'samples[1].c', /samples\[1\] has unknown feature 'c'/),
  );
  assert.throws(() => validator.checkMetadata(check({ samples: [{ a: 1 }] })), hasCode('INVALID_METADATA', 'samples', /names no "features"/));
  assert.throws(
    () => validator.checkMetadata(check({ features: ['a', 'b'], expected: { values: [[1]] } })),
    hasCode('INVALID_METADATA', 'expected', /no "samples"/),
  );
  assert.throws(
    () => validator.checkMetadata(check({ features: ['a', 'b'], samples: [{ a: 1, b: 2 }], expected: { values: [[1], [2]] } })),
    hasCode('INVALID_METADATA', 'expected.values', /2 expected rows for 1 samples/),
  );
});

test('validation runs generated samples and checks every output’s dtype, dims and finiteness', async () => {
  const v = await version(buildMlp(REFERENCE_MODELS.small).bytes, { features: features(32), output: { kind: 'classification', labels: ['no', 'yes'] } });
  const report = await validator.validate(v);
  assert.equal(report.ok, true, formatValidationReport(report));
  assert.deepEqual(report.samples, { source: 'generated', rows: 8 });
  assert.deepEqual(report.outputs, [{ name: 'probabilities', type: 'float32', dims: [8, 2], nonFinite: 0 }]);
  assert.equal(report.comparison, undefined);
});

test('a model without features is validated on tensors generated from its signature (int64 ids too)', async () => {
  const v = await version(buildEmbeddingLookup({ vocab: 10, dim: 4, seed: 7 }).bytes, {});
  const report = await validator.validate(v);
  assert.equal(report.ok, true, formatValidationReport(report));
  assert.equal(report.outputs[0]?.dims[0], 8);
});

test('non-finite outputs fail validation, naming the output and the first bad row', async () => {
  const v = await version(logModel(3), { features: features(3) });
  const report = await validator.validate(v);
  assert.equal(report.ok, false);
  assert.match(report.problems.join('\n'), /output 'y' has \d+ non-finite values \(NaN or ±Infinity\), the first in sample row \d/);
  assert.match(formatValidationReport(report), /FAILED/);
});

test('metadata samples with expected outputs pass within the tolerance and fail beyond it', async () => {
  const samples = [
    { a: 1, b: 2, c: 3 },
    { a: -1, b: 0.5, c: 0 },
  ];
  const good = await version(identityModel(3), {
    features: ['a', 'b', 'c'],
    samples,
    expected: {
      values: [
        [1, 2, 3],
        [-1, 0.5, 0],
      ],
    },
  });
  const ok = await validator.validate(good);
  assert.equal(ok.ok, true, formatValidationReport(ok));
  assert.deepEqual(ok.samples, { source: 'metadata', rows: 2 });
  assert.deepEqual(ok.expected, { output: 'y', maxAbsDiff: 0, tolerance: 1e-4, ok: true });
  const bad = {
    ...good,
    record: {
      ...good.record,
      metadata: {
        ...good.record.metadata,
        expected: {
          values: [
            [1, 2, 3],
            [-1, 0.5, 0.25],
          ],
          tolerance: 0.1,
        },
      },
    },
  };
  const failed = await validator.validate(bad);
  assert.equal(failed.ok, false);
  assert.match(
    failed.problems[0] ?? '',
    /output 'y' differs from the metadata's expected values by up to 0\.25 \(sample 1, value 2: got 0, expected 0\.25\), more than the tolerance 0\.1/,
  );
});

test('a candidate is compared with the current version on the same rows: diffs per output and changed labels', async () => {
  const metadata: ModelMetadata = { features: features(32), output: { kind: 'classification', labels: ['no', 'yes'] } };
  const current = await version(buildMlp(REFERENCE_MODELS.small).bytes, metadata, '1');
  const candidate = await version(buildMlp({ ...REFERENCE_MODELS.small, seed: 7 }).bytes, metadata, '2');
  const report = await validator.validate(candidate, { ...current, alias: 'production' });
  assert.equal(report.ok, true);
  const c = report.comparison;
  assert.ok(c?.comparable);
  assert.equal(c.version, '1');
  assert.equal(c.outputs[0]?.name, 'probabilities');
  assert.ok((c.outputs[0]?.maxAbsDiff ?? 0) > 0, 'different weights give different probabilities');
  assert.equal(c.outputs[0]?.changedRows, 8);
  assert.ok(c.labels && c.labels.rows === 8 && c.labels.share === c.labels.changed / 8);
  const text = formatValidationReport(report);
  assert.match(text, /compared with production \(v1\) on the same rows:/);
  assert.match(text, /probabilities +\S+ +\S+ +8\/8/);
  assert.match(text, /labels changed: \d\/8/);

  const same = await validator.validate({ ...current, record: { ...current.record, version: '3' } }, { ...current, alias: 'production' });
  assert.equal(same.comparison?.outputs[0]?.maxAbsDiff, 0, 'identical bytes give identical outputs');
});

test('versions that cannot take the same samples are reported as not comparable, which does not fail validation', async () => {
  const current = await version(buildLogisticRegression({ features: 3 }).bytes, { features: ['x', 'y', 'z'] }, '1');
  const candidate = await version(buildLogisticRegression({ features: 4 }).bytes, { features: features(4) }, '2');
  const report = await validator.validate(candidate, { ...current, alias: 'production' });
  assert.equal(report.ok, true);
  assert.equal(report.comparison?.comparable, false);
  assert.match(report.comparison?.reason ?? '', /^m v1 cannot score the same samples: .*unknown feature 'f0'/);
});

test('a model whose batch axis is fixed is accepted, validated in whole calls and noted as served with batching off', async () => {
  const v = await version(buildMlp({ ...REFERENCE_MODELS.small, batch: 3 }).bytes, { features: features(32) });
  assert.deepEqual(v.record.signature.batch, { dynamic: false, size: 3 });
  const report = await validator.validate(v);
  assert.equal(report.ok, true, formatValidationReport(report));
  assert.equal(report.outputs[0]?.dims[0], 9, '8 sample rows padded to 3 calls of 3');
  assert.match(report.notes.join('\n'), /batch axis is fixed at 3 rows: the version is served with batching off/);
});
