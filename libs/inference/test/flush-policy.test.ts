/**
 * The flush policies as pure functions of the batcher's state: no batcher, no pool, no clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedPolicy, singlePolicy, type BatcherState } from '../src/index.js';

/** A batcher state with one job of one row that arrived at t=1000 and is looked at at t=1000. */
function state(overrides: Partial<BatcherState> = {}): BatcherState {
  return {
    pendingRows: 1,
    pendingJobs: 1,
    oldestArrivalAt: 1000,
    earliestDeadline: Number.POSITIVE_INFINITY,
    heldJobs: 1,
    capacityJobs: 100,
    now: 1000,
    ...overrides,
  };
}

const policy = fixedPolicy({ maxBatchRows: 8, maxDelayMs: 5 });

test('the fixed policy exposes its maxBatchRows to the batcher', () => {
  assert.equal(policy.maxBatchRows, 8);
});

test('the fixed policy flushes as full once the waiting rows reach maxBatchRows', () => {
  assert.deepEqual(policy.decide(state({ pendingRows: 8, pendingJobs: 8, heldJobs: 8 })), { flush: 'full' });
  assert.deepEqual(policy.decide(state({ pendingRows: 20, pendingJobs: 2, heldJobs: 2 })), { flush: 'full' });
});

test('the fixed policy waits while the rows are one short of maxBatchRows', () => {
  assert.ok('waitMs' in policy.decide(state({ pendingRows: 7, pendingJobs: 7, heldJobs: 7 })));
});

test('the fixed policy waits exactly until the oldest row has waited maxDelayMs', () => {
  assert.deepEqual(policy.decide(state({ now: 1000 })), { waitMs: 5 });
  assert.deepEqual(policy.decide(state({ now: 1003.5 })), { waitMs: 1.5 });
});

test('the fixed policy flushes by delay once the oldest row has waited maxDelayMs', () => {
  assert.deepEqual(policy.decide(state({ now: 1005 })), { flush: 'delay' });
  assert.deepEqual(policy.decide(state({ now: 1500 })), { flush: 'delay' });
});

test('the fixed policy flushes by deadline when a deadline falls before the delay ends', () => {
  assert.deepEqual(policy.decide(state({ earliestDeadline: 1004 })), { flush: 'deadline' });
  assert.deepEqual(policy.decide(state({ earliestDeadline: 1005 })), { flush: 'deadline' });
  assert.deepEqual(policy.decide(state({ earliestDeadline: 900 })), { flush: 'deadline' });
});

test('the fixed policy keeps waiting when the earliest deadline falls after the delay ends', () => {
  assert.deepEqual(policy.decide(state({ earliestDeadline: 1006 })), { waitMs: 5 });
});

test('the fixed policy flushes as full when the worker holds all the jobs it can, however few rows wait', () => {
  assert.deepEqual(policy.decide(state({ heldJobs: 100, capacityJobs: 100 })), { flush: 'full' });
  assert.deepEqual(policy.decide(state({ pendingJobs: 1, heldJobs: 4, capacityJobs: 4 })), { flush: 'full' });
  assert.ok('waitMs' in policy.decide(state({ heldJobs: 3, capacityJobs: 4 })));
});

test('the fixed policy prefers full over delay and deadline when several apply', () => {
  assert.deepEqual(policy.decide(state({ pendingRows: 8, now: 2000, earliestDeadline: 0 })), { flush: 'full' });
  assert.deepEqual(policy.decide(state({ now: 2000, earliestDeadline: 0 })), { flush: 'delay' });
});

test('the fixed policy with maxDelayMs 0 flushes every arrival by delay', () => {
  assert.deepEqual(fixedPolicy({ maxBatchRows: 64, maxDelayMs: 0 }).decide(state()), { flush: 'delay' });
});

test('the single policy takes one row per batch and flushes every decision as single', () => {
  const single = singlePolicy();
  assert.equal(single.maxBatchRows, 1);
  assert.deepEqual(single.decide(state()), { flush: 'single' });
  assert.deepEqual(single.decide(state({ pendingRows: 50, pendingJobs: 50, heldJobs: 50 })), { flush: 'single' });
});
