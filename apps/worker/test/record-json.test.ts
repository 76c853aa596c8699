import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRecord, ScoreResult } from '@scoreq/contracts';
import { recordJson } from '../src/record-json.js';

const timings = {
  enqueuedAt: 1_764_000_000_000.123,
  receivedAt: 1_764_000_000_001.5,
  dispatchedAt: 1_764_000_000_002.25,
  inferenceStartedAt: 1_764_000_000_002.375,
  inferenceEndedAt: 1_764_000_000_002.5,
  settledAt: 1_764_000_000_003.0625,
  queuedMs: 1.377,
  batchWaitMs: 0.75,
  poolWaitMs: 0.125,
  inferenceMs: 0.125,
  totalMs: 2.9395,
};
const batch = { id: 'b1x-2f', rows: 38, jobs: 38, reason: 'full' as const };
const result = (over: Partial<ScoreResult>): ScoreResult => ({
  model: 'churn',
  version: '3',
  rows: [{ label: 'yes', score: 0.7, scores: { no: 0.3, yes: 0.7 } }],
  batch,
  timings,
  ...over,
});
const completed = (r: ScoreResult, tenant?: string): JobRecord => ({
  id: 'churn.42',
  status: 'completed',
  result: r,
  finishedAt: '2026-11-25T17:00:00.000Z',
  ...(tenant === undefined ? {} : { tenant }),
});

const cases: Array<[string, JobRecord]> = [
  ['a classified row', completed(result({}))],
  ['a tenant', completed(result({}), 'acme')],
  ['labels and ids that need escaping', { ...completed(result({ rows: [{ label: 'a "q"\n', scores: { 'a "q"\n': 1 } }] }), 't\\1'), id: 'm."x"' }],
  ['regression rows and raw outputs', completed(result({ rows: [{ value: -0 }, { outputs: { y: [1e-7, 123456789.123] } }] }))],
  ['float32 scores', completed(result({ rows: [{ label: 'c1', score: Math.fround(0.1), scores: { c0: Math.fround(0.9), c1: Math.fround(0.1) } }] }))],
  ['non-finite timings', completed(result({ timings: { ...timings, poolWaitMs: Number.NaN, totalMs: Number.POSITIVE_INFINITY } }))],
  ['a tensor result', completed(result({ rows: undefined, tensors: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0.5, 0.5] }] }))],
  [
    'a failure',
    {
      id: 'churn.7',
      status: 'failed',
      model: 'churn',
      version: '3',
      error: { code: 'INVALID_INPUT', message: 'rows[0].age is missing' },
      finishedAt: '2026-11-25T17:00:00.000Z',
    },
  ],
];

for (const [what, record] of cases) {
  test(`the record JSON of ${what} is exactly what JSON.stringify writes`, () => {
    assert.equal(recordJson(record), JSON.stringify(record));
  });
}
