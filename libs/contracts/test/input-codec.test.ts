import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRows, featureSpecs, ScoreqError, type FeatureRow, type ModelVersionRecord } from '../src/index.js';

const record: ModelVersionRecord = {
  version: '1',
  sha256: 'x',
  size: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  signature: { inputs: [{ name: 'x', type: 'float32', shape: ['N', 3] }], outputs: [], batch: { dynamic: true, size: null } },
  metadata: {
    features: ['a', { name: 'b', scale: { mean: 2, std: 4 } }, { name: 'c', default: 7, categories: { lo: 0, hi: 1 } }],
  },
};
const features = featureSpecs(record.metadata);

/** What encodeRows writes for the rows, or the INVALID_INPUT field and message it throws. */
function outcome(rows: unknown[]): { values: number[] } | { field: unknown; message: string } {
  const out = new Float32Array(rows.length * 3);
  try {
    encodeRows(features, rows as FeatureRow[], out, 0, record);
    return { values: [...out] };
  } catch (err) {
    assert.ok(err instanceof ScoreqError && err.code === 'INVALID_INPUT');
    return { field: err.details?.field, message: err.message };
  }
}

test('plain-number rows are written with the scaling the metadata gives', () => {
  assert.deepEqual(outcome([{ a: 1, b: 6, c: 0.5 }]), { values: [1, 1, 0.5] });
});

const cases: Array<[string, unknown[], ReturnType<typeof outcome>]> = [
  ['a default', [{ a: 1, b: 2 }], { values: [1, 0, 7] }],
  ['a category and a boolean', [{ a: true, b: 2, c: 'hi' }], { values: [1, 0, 1] }],
  ['null for a default', [{ a: 1, b: 2, c: null }], { values: [1, 0, 7] }],
  ['a missing value without default', [{ b: 2, c: 1 }], { field: 'rows[0].a', message: 'rows[0].a is missing and the feature has no default' }],
  ['an unknown key beside a missing one', [{ a: 1, b: 2, z: 3 }], { field: 'rows[0].z', message: "rows[0] has unknown feature 'z' (expected: a, b, c)" }],
  [
    'an unknown key in place of a feature',
    [{ a: 1, b: 2, z: 3, c: 'nope' }],
    { field: 'rows[0].z', message: "rows[0] has unknown feature 'z' (expected: a, b, c)" },
  ],
  ['an infinite value', [{ a: 1, b: Number.POSITIVE_INFINITY, c: 1 }], { field: 'rows[0].b', message: 'rows[0].b must be a finite number, got Infinity' }],
  ['an unknown category', [{ a: 1, b: 2, c: 'mid' }], { field: 'rows[0].c', message: "rows[0].c has unknown category 'mid' (known: lo, hi)" }],
  ['a string where a number goes', [{ a: '1', b: 2, c: 1 }], { field: 'rows[0].a', message: 'rows[0].a must be a number, got string "1"' }],
  ['an array row', [[1, 2, 3]], { field: 'rows[0]', message: 'rows[0] must be an object of named features' }],
  [
    'a bad second row',
    [
      { a: 1, b: 2, c: 1 },
      { a: 1, b: 2, c: {} },
    ],
    { field: 'rows[1].c', message: 'rows[1].c must be a number, got object {}' },
  ],
];

for (const [what, rows, expected] of cases) {
  test(`a row with ${what} is encoded or refused by the checked path`, () => {
    assert.deepEqual(outcome(rows), expected);
  });
}
