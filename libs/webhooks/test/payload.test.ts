import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRecord, ScoreResult } from '@scoreq/contracts';
import { payloadOf } from '../src/index.js';

const timings = {
  enqueuedAt: 1,
  receivedAt: 2,
  dispatchedAt: 3,
  inferenceStartedAt: 4,
  inferenceEndedAt: 5,
  settledAt: 6,
  queuedMs: 1,
  batchWaitMs: 1,
  poolWaitMs: 1,
  inferenceMs: 1,
  totalMs: 5,
};
const result: ScoreResult = {
  model: 'churn',
  version: '3',
  rows: [{ label: 'yes', score: 0.9 }],
  batch: { id: 'b1', rows: 1, jobs: 1, reason: 'single' },
  timings,
};

test('a completed record becomes job.completed with model, version and timings at the top', () => {
  const record: JobRecord = { id: 'churn.1', status: 'completed', result, finishedAt: '2025-01-01T00:00:00.000Z', tenant: 'acme' };
  assert.deepEqual(payloadOf(record), {
    type: 'job.completed',
    id: 'churn.1',
    status: 'completed',
    tenant: 'acme',
    model: 'churn',
    version: '3',
    finishedAt: '2025-01-01T00:00:00.000Z',
    result: { rows: result.rows, batch: result.batch },
    timings,
  });
});

test('a failed record becomes job.failed with its error, and no tenant or version when it had none', () => {
  const error = { code: 'INVALID_INPUT' as const, message: 'rows[0].age: expected a number', details: { field: 'rows[0].age' } };
  const record: JobRecord = { id: 'churn.2', status: 'failed', model: 'churn', error, finishedAt: '2025-01-01T00:00:00.000Z' };
  assert.deepEqual(payloadOf(record), { type: 'job.failed', id: 'churn.2', status: 'failed', model: 'churn', finishedAt: '2025-01-01T00:00:00.000Z', error });
});

test('a record of a job that failed in a worker passes its timings on', () => {
  const error = { code: 'DEADLINE_EXCEEDED' as const, message: 'the deadline passed' };
  const failedTimings = { enqueuedAt: 1, receivedAt: 3, settledAt: 6, queuedMs: 2, totalMs: 5 };
  const record: JobRecord = {
    id: 'churn.3',
    status: 'failed',
    model: 'churn',
    version: '3',
    error,
    finishedAt: '2025-01-01T00:00:00.000Z',
    timings: failedTimings,
  };
  assert.deepEqual(payloadOf(record).timings, failedTimings);
});
