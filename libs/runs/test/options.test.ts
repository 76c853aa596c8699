/** Run options: defaults applied once, every bad value refused by name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describeRun, type RunState } from '@scoreq/client';
import { describeProgress, parseModelRef, resolveRunOptions, RUN_DEFAULTS, type RunOptions } from '../src/index.js';

const base: RunOptions = { connection: 'redis://127.0.0.1:6379', model: 'churn', input: 'in.csv', output: 'out.jsonl' };

test('defaults fill every option, paths are made absolute and formats come from extensions', () => {
  const o = resolveRunOptions(base);
  assert.equal(o.prefix, 'scoreq');
  assert.equal(o.chunkRows, RUN_DEFAULTS.chunkRows);
  assert.equal(o.window, RUN_DEFAULTS.window);
  assert.equal(o.input, resolve('in.csv'));
  assert.equal(o.inputFormat, 'csv');
  assert.equal(o.outputFormat, 'jsonl');
  assert.equal(o.rejects, `${resolve('out.jsonl')}.rejects.csv`);
  assert.equal(o.versionRef, undefined);
  assert.ok(Object.isFrozen(o));
  assert.equal(resolveRunOptions({ ...base, input: '-' }).inputFormat, 'csv');
  assert.deepEqual(parseModelRef('churn@staging', undefined), { model: 'churn', versionRef: 'staging' });
});

const refusals: [string, Partial<RunOptions> & Record<string, unknown>, RegExp][] = [
  ['an unknown option', { chunkSize: 10 }, /^chunkSize is not an option/],
  ['a bad model name', { model: 'a:b' }, /^model /],
  ['a version given twice', { model: 'churn@1', version: '2' }, /^version is given twice/],
  ['a bad prefix', { prefix: 'a b' }, /^prefix /],
  ['an output that is stdout', { output: '-' }, /^output must be a file path/],
  ['an output equal to the input', { output: 'in.csv' }, /^output must differ from the input/],
  ['an extension that names no format', { output: 'out.txt' }, /outputFormat/],
  ['an unknown format', { inputFormat: 'xml' as 'csv' }, /^inputFormat must be csv or jsonl/],
  ['a bad run id', { id: 'a:b' }, /^id "a:b" is not a run id/],
  ['chunkRows of 0', { chunkRows: 0 }, /^chunkRows must be an integer from 1/],
  ['a fractional window', { window: 1.5 }, /^window must be an integer from 1/],
  ['a reject rate above 1', { maxRejectRate: 2 }, /^maxRejectRate must be a share from 0 to 1/],
  ['a non-http callback', { callbackUrl: 'ftp://x' }, /^callbackUrl must be an http\(s\) URL/],
  ['a pass-through column named twice', { passThrough: ['id', 'id'] }, /^passThrough names a column twice/],
  ['rejects onto the output', { rejects: 'out.jsonl' }, /^rejects must differ/],
  ['a tiny maxLineLength', { maxLineLength: 3 }, /^maxLineLength must be an integer from 16/],
];
for (const [what, change, message] of refusals) {
  test(`${what} is refused with INVALID_OPTION naming it`, () => {
    assert.throws(
      () => resolveRunOptions({ ...base, ...change } as RunOptions),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INVALID_OPTION');
        assert.match(err.message, message);
        return true;
      },
    );
  });
}

test('progress lines say rows, share, rate, ETA and bad rows, estimating the total from the bytes read', () => {
  const state: RunState = {
    id: 'r1',
    model: 'churn',
    versionRef: 'production',
    version: '1',
    input: '/in.csv',
    inputFormat: 'csv',
    output: '/out.csv',
    outputFormat: 'csv',
    rejects: '/out.csv.rejects.csv',
    chunkRows: 100,
    window: 4,
    passThrough: [],
    status: 'running',
    startedAt: 0,
    finishedAt: undefined,
    total: undefined,
    done: 390,
    failed: 0,
    rejected: 10,
    writtenChunks: 4,
    enqueuedChunks: 8,
    outputBytes: 1,
    rejectsBytes: 1,
    inputBytes: 1_000,
    inputPos: 100,
    callbackUrl: undefined,
    error: undefined,
    heartbeatAt: 9_000,
    producer: 'h:1',
    sessionStartedAt: 0,
    sessionStartRows: 0,
  };
  const info = describeRun(state, 10_000);
  assert.equal(info.expectedTotal, 4_000);
  assert.equal(info.rowsPerSec, 40);
  assert.equal(info.etaSec, 90);
  assert.equal(info.producerAlive, true);
  assert.equal(describeProgress(info), 'run r1 running: 400 / ~4,000 rows (10%), 40 rows/s, ETA 1m30s, 10 rejected');
  assert.equal(describeRun(state, 30_000).producerAlive, false, 'no heartbeat for 21 s');
});
