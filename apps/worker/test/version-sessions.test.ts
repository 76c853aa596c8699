/**
 * VersionSessions with a real MicroBatcher and a real InferencePool: a retired version's
 * sessions are released once its batcher is idle, whether its last jobs ran or expired
 * waiting. The jobs here never reach onnxruntime with a model (they expire, or their model
 * file is missing), so no model is built: what is observed is the release.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { now } from '@scoreq/contracts';
import { InferencePool, MicroBatcher, type BatchItem, type FlushPolicy } from '@scoreq/inference';
import { VersionSessions } from '../src/version-sessions.js';

let pool: InferencePool;

before(() => {
  pool = new InferencePool({ threads: 1 });
});

after(async () => {
  await pool?.close();
});

/**
 * Holds waiting jobs until every deadline among them has passed, then flushes by delay: what
 * fixedPolicy does when a deadline falls just after maxDelayMs, without depending on timing.
 */
const untilDeadlinesPass: FlushPolicy = {
  maxBatchRows: 64,
  decide: (s) => (s.now > s.earliestDeadline ? { flush: 'delay' } : { waitMs: s.earliestDeadline - s.now + 1 }),
};

/** Runs only when the policy says so: flushes at once. */
const atOnce: FlushPolicy = { maxBatchRows: 64, decide: () => ({ flush: 'full' }) };

interface Served {
  sessions: VersionSessions;
  batcher: MicroBatcher;
  runs: number;
  releases: number;
}

/** One version's sessions and batcher, wired as the worker wires them (served-model.ts). */
function serve(policy: FlushPolicy, path = '/nonexistent/scoreq-version-sessions/model.onnx'): Served {
  const served = { runs: 0, releases: 0 } as Served;
  served.sessions = new VersionSessions({
    pool,
    key: `m@1#${Math.random().toString(36).slice(2)}`,
    path,
    fixedBatch: null,
    idle: () => served.batcher.heldJobs === 0,
    onReleased: () => served.releases++,
  });
  served.batcher = new MicroBatcher({
    policy,
    maxInFlight: 1,
    capacityJobs: 8,
    run: (inputs) => {
      served.runs++;
      return served.sessions.run(inputs);
    },
    onIdle: () => served.sessions.releaseIfIdle(),
  });
  return served;
}

function job(deadline?: number): BatchItem {
  return { rows: 1, inputs: [{ name: 'x', type: 'float32', dims: [1, 3], data: new Float32Array(3) }], ...(deadline === undefined ? {} : { deadline }) };
}

test('a retired version whose last waiting job passes its deadline before its batch leaves is released, though no batch runs', async () => {
  const served = serve(untilDeadlinesPass);
  const late = served.batcher.submit(job(now() + 5));
  served.sessions.retire();
  assert.equal(served.releases, 0, 'not released while a job waits');

  await assert.rejects(late, (err: { code?: string }) => err.code === 'DEADLINE_EXCEEDED');
  assert.equal(served.runs, 0, 'no batch ran');
  assert.equal(served.batcher.heldJobs, 0);
  assert.equal(served.releases, 1, 'released once the batcher held nothing');
  await served.batcher.drain();
});

test('a retired version with a batch in flight is released once that batch settles, not before', async () => {
  const served = serve(atOnce);
  const pending = served.batcher.submit(job());
  assert.equal(served.runs, 1, 'the batch is in flight');
  served.sessions.retire();
  assert.equal(served.releases, 0, 'not released while the batch runs');

  await assert.rejects(pending, (err: { code?: string }) => typeof err.code === 'string', 'the model file is missing: the job fails');
  await served.batcher.drain();
  assert.equal(served.releases, 1, 'released once the batch settled');
});

test('a version that is not retired is never released when its batcher goes idle', async () => {
  const served = serve(untilDeadlinesPass);
  await assert.rejects(served.batcher.submit(job(now() + 5)), (err: { code?: string }) => err.code === 'DEADLINE_EXCEEDED');
  await served.batcher.drain();
  assert.equal(served.releases, 0);
});
