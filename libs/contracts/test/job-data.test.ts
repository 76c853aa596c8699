import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScoreJobData, scoreJobDataSchema } from '../src/index.js';

const cases: Array<[string, unknown]> = [
  ['named rows', { model: 'm', rows: [{ a: 1 }] }],
  ['rows with every optional field', { model: 'm', version: '2', rows: [{ a: 1 }, { a: null }], tenant: 't', deadline: 5, enqueuedAt: 4, resultTtlSec: 60 }],
  ['tensors', { model: 'm', tensors: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }],
  ['a callback URL', { model: 'm', rows: [{ a: 1 }], callbackUrl: 'https://example.com/hook' }],
  ['a bad callback URL', { model: 'm', rows: [{ a: 1 }], callbackUrl: 'not a url' }],
  ['no model', { rows: [{ a: 1 }] }],
  ['both rows and tensors', { model: 'm', rows: [{ a: 1 }], tensors: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }],
  ['neither rows nor tensors', { model: 'm' }],
  ['empty rows', { model: 'm', rows: [] }],
  ['a row that is an array', { model: 'm', rows: [[1, 2]] }],
  ['an empty version', { model: 'm', version: '', rows: [{ a: 1 }] }],
  ['a fractional TTL', { model: 'm', rows: [{ a: 1 }], resultTtlSec: 1.5 }],
  ['a string deadline', { model: 'm', rows: [{ a: 1 }], deadline: 'soon' }],
  ['a long tenant', { model: 'm', rows: [{ a: 1 }], tenant: 'x'.repeat(129) }],
  ['null', null],
  ['a string', 'garbage'],
];

for (const [what, raw] of cases) {
  test(`job data with ${what} is accepted or refused exactly as the schema says`, () => {
    const fast = parseScoreJobData(raw);
    const schema = scoreJobDataSchema.safeParse(raw);
    assert.equal(fast.ok, schema.success);
    if (!fast.ok && !schema.success) assert.equal(fast.field, schema.error.issues[0]!.path.join('.') || 'data');
  });
}

test('a refused job names the field at fault', () => {
  const parsed = parseScoreJobData({ model: 'm', rows: [{ a: 1 }], deadline: 'soon' });
  assert.deepEqual(parsed.ok ? null : parsed.field, 'deadline');
});
