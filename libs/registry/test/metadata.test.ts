/** User metadata parsed at the edge: every wrong field named, unknown keys refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMetadata } from '../src/metadata.js';
import { hasCode } from './helpers.js';

test('absent metadata is empty, and every documented field is accepted', () => {
  assert.deepEqual(parseMetadata(undefined), {});
  const full = {
    features: ['a', { name: 'b', default: 0, scale: { mean: 1, std: 2 } }, { name: 'c', categories: { x: 0, y: 1 } }],
    input: 'input',
    output: { name: 'p', kind: 'classification', labels: ['no', 'yes'], threshold: 0.7 },
    batching: { maxBatchRows: 32, maxDelayMs: 1 },
    description: 'd',
    owner: 'o',
    tags: ['t'],
    samples: [{ a: 1, b: null, c: 'x' }],
    expected: { output: 'p', values: [[0.5]], tolerance: 0.01 },
  };
  assert.deepEqual(parseMetadata(full), full);
});

test('a wrong field is refused with INVALID_METADATA naming its path', () => {
  assert.throws(
    () => parseMetadata({ features: [{ name: 'a', scale: { mean: 0, std: -1 } }] }),
    hasCode('INVALID_METADATA', 'features.0.scale.std', /metadata\.features\.0\.scale\.std/),
  );
  assert.throws(() => parseMetadata({ output: { kind: 'ranking' } }), hasCode('INVALID_METADATA', 'output.kind'));
  assert.throws(() => parseMetadata({ samples: [] }), hasCode('INVALID_METADATA', 'samples'));
  assert.throws(() => parseMetadata([]), hasCode('INVALID_METADATA', 'metadata'));
});

test('an unknown top-level key (a typo) is refused rather than silently dropped', () => {
  assert.throws(() => parseMetadata({ feature: ['a'] }), hasCode('INVALID_METADATA', undefined, /feature/));
});
