/**
 * Overnight runs over HTTP (POST/GET/DELETE /v1/runs, /output, /rejects) on real Redis with a
 * real in-process worker and onnxruntime: an uploaded CSV scored and downloaded, a JSON body
 * naming files in SCOREQ_RUNS_DIR, paths that would leave it refused, tenants kept apart,
 * cancelling, the run webhook (once, signed), and an API shutdown leaving its runs resumable.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import * as ort from 'onnxruntime-node';
import { bulkQueueName, keys, type EnvConfig } from '@scoreq/contracts';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { createLogger } from '@scoreq/telemetry';
import type { ScoringWorker } from '@scoreq/worker';
import { ApiKeyStore, buildApi, startApi, type CreatedApiKey } from '@scoreq/api';
import { featureNames, ModelsDir, randomRows, toMatrix } from './helpers/models.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { deliveriesSettled, verifyDelivery, WebhookReceiver } from './helpers/webhook-receiver.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
const UPLOAD_LIMIT = 2 * 1024 * 1024;
let models: ModelsDir;
let modelPath: string;
let runsDir: string;
let outside: string;
let config: EnvConfig;
let worker: ScoringWorker;
let app: FastifyInstance;
let redis: Redis;
let hooks: WebhookReceiver;
let acme: CreatedApiKey;
let globex: CreatedApiKey;
let reader: CreatedApiKey;

before(async () => {
  models = await ModelsDir.create();
  modelPath = await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), {
    features: F32,
    output: { name: 'probabilities', kind: 'classification', labels: ['stay', 'churn'] },
  });
  runsDir = await mkdtemp(join(tmpdir(), 'scoreq-api-runs-'));
  outside = await mkdtemp(join(tmpdir(), 'scoreq-api-outside-'));
  hooks = await WebhookReceiver.start();
  config = testConfig(prefix, models.dir, {
    SCOREQ_RUNS_DIR: runsDir,
    SCOREQ_RUN_UPLOAD_LIMIT_BYTES: UPLOAD_LIMIT,
    SCOREQ_WEBHOOK_ALLOW: '127.0.0.1',
    // Each API looks for runs to adopt once, at start: no sweep races the tests' own resumes.
    SCOREQ_RUN_ADOPT_INTERVAL_MS: 0,
  });
  worker = await startTestWorker(config);
  redis = new Redis(redisUrl());
  app = await buildApi({ config, logger: createLogger({ level: 'silent' }) });
  const keyStore = new ApiKeyStore(redis, prefix);
  acme = await keyStore.create({ tenant: 'acme', scopes: ['submit', 'read'] });
  globex = await keyStore.create({ tenant: 'globex', scopes: ['submit', 'read'] });
  reader = await keyStore.create({ tenant: 'acme', scopes: ['read'] });
});

after(async () => {
  await app?.close();
  await worker?.close();
  hooks?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
  await rm(runsDir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

function as(key: CreatedApiKey, options: InjectOptions): InjectOptions {
  return { ...options, headers: { authorization: `Bearer ${key.key}`, ...options.headers } };
}

interface RunBody {
  id: string;
  status: string;
  done: number;
  rejected: number;
  failed: number;
  total?: number;
  input: string;
  output: string;
  error?: { code: string };
  links: { self: string; output: string; rejects: string };
}

interface ErrorBody {
  error: { code: string; message: string; details?: { field?: string } };
}

function toCsv(rows: Record<string, number>[]): string {
  return `id,${F32.join(',')}\n${rows.map((r, i) => `k${i},${F32.map((f) => r[f]).join(',')}`).join('\n')}\n`;
}

/** The MLP's probabilities for `rows`, straight from onnxruntime. */
async function direct(rows: Record<string, number>[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(modelPath);
  const out = await session.run({ input: new ort.Tensor('float32', toMatrix(rows, F32), [rows.length, F32.length]) });
  await session.release();
  return out['probabilities']!.data as Float32Array;
}

/** Checks CSV output lines (after the header) against onnxruntime's values, in input order. */
function checkCsv(lines: string[], expected: Float32Array): void {
  lines.forEach((line, i) => {
    const [id, label, , stay, churn] = line.split(',');
    assert.equal(id, `k${i}`, `row ${i} keeps its place`);
    const [s, c] = [expected[i * 2]!, expected[i * 2 + 1]!];
    assert.ok(Math.abs(Number(stay) - s) < 1e-6 && Math.abs(Number(churn) - c) < 1e-6, `row ${i}: ${stay},${churn} vs ${s},${c}`);
    assert.equal(label, c > s ? 'churn' : 'stay');
  });
}

/** Polls GET /v1/runs/:id until the run has ended. */
async function untilEnded(id: string, key: CreatedApiKey = acme, timeoutMs = 30_000): Promise<RunBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await app.inject(as(key, { url: `/v1/runs/${id}` }));
    assert.equal(res.statusCode, 200, res.body);
    const run = res.json<RunBody>();
    if (run.status !== 'running') return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Keys of run states under the test prefix. */
async function runKeys(): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:run:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch.filter((k) => !k.endsWith(':producer')));
  } while (cursor !== '0');
  return found.sort();
}

function refusedWith(res: LightMyRequestResponse, status: number, code: string, field?: string): ErrorBody['error'] {
  assert.equal(res.statusCode, status, res.body);
  const { error } = res.json<ErrorBody>();
  assert.equal(error.code, code, res.body);
  if (field !== undefined) assert.equal(error.details?.field, field, res.body);
  return error;
}

test('a CSV uploaded over HTTP is scored, followed with GET until completed, and /output serves values equal to scoring directly, in input order', async () => {
  const api = await startApi({ config: { ...config, PORT: 0 }, host: '127.0.0.1', logger: createLogger({ level: 'silent' }) });
  try {
    const rows = randomRows(F32, 2_100, 11);
    const started = await fetch(`${api.url}/v1/runs?model=churn@1&passThrough=id&chunkRows=250&callbackUrl=${encodeURIComponent(hooks.url)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme.key}`, 'content-type': 'text/csv' },
      body: toCsv(rows),
    });
    assert.equal(started.status, 202, await started.clone().text());
    const run = (await started.json()) as RunBody;
    assert.equal(started.headers.get('location'), `/v1/runs/${run.id}`);
    assert.equal(run.input, `${run.id}/input.csv`);
    assert.equal(run.output, `${run.id}/output.csv`);

    const final = await untilEnded(run.id);
    assert.equal(final.status, 'completed', JSON.stringify(final));
    assert.deepEqual([final.total, final.done, final.rejected, final.failed], [2_100, 2_100, 0, 0]);

    const download = await fetch(`${api.url}${final.links.output}`, { headers: { authorization: `Bearer ${acme.key}` } });
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = (await download.text()).trimEnd().split('\n');
    assert.equal(lines[0], 'id,label,score,score_stay,score_churn');
    assert.equal(lines.length, 2_101);
    checkCsv(lines.slice(1), await direct(rows));
    assert.equal(await readFile(join(runsDir, run.id, 'output.csv'), 'utf8'), `${lines.join('\n')}\n`);

    const payload = await verifyDelivery<{
      type: string;
      id: string;
      status: string;
      tenant: string;
      version: string;
      done: number;
      total: number;
      output: string;
    }>(redis, prefix, 'acme', await hooks.next(run.id));
    assert.equal(payload.type, 'run.completed');
    assert.deepEqual([payload.status, payload.tenant, payload.version, payload.done, payload.total], ['completed', 'acme', '1', 2_100, 2_100]);
    assert.equal(payload.output, join(runsDir, run.id, 'output.csv'));

    // Starting the finished run again answers it, and announces nothing a second time.
    const again = await app.inject(
      as(acme, {
        method: 'POST',
        url: '/v1/runs',
        payload: { model: 'churn@1', id: run.id, input: final.input, output: final.output, passThrough: ['id'], chunkRows: 250 },
      }),
    );
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json<RunBody>().status, 'completed');
    await deliveriesSettled(redis, prefix);
    assert.equal(hooks.about(run.id).length, 1, 'one webhook per finish');

    // A refused upload is answered without reading it, and its connection closed.
    const refused = await fetch(`${api.url}/v1/runs?id=unread`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme.key}`, 'content-type': 'text/csv' },
      body: toCsv(randomRows(F32, 3_000, 18)),
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get('connection'), 'close');
  } finally {
    await api.close();
  }
});

test('a JSON body starts a run on files named relative to SCOREQ_RUNS_DIR; the rejects file lists bad rows', async () => {
  const rows = randomRows(F32, 500, 12);
  const lines = rows.map((r, i) => JSON.stringify({ id: `k${i}`, ...r }));
  lines[7] = JSON.stringify({ id: 'k7', ...rows[7], f03: 'abc' });
  await mkdir(join(runsDir, 'nightly'), { recursive: true });
  await writeFile(join(runsDir, 'nightly', 'in.jsonl'), `${lines.join('\n')}\n`);
  const res = await app.inject(
    as(acme, {
      method: 'POST',
      url: '/v1/runs',
      payload: { model: 'churn', input: 'nightly/in.jsonl', output: 'nightly/out/scores.csv', passThrough: ['id'], chunkRows: 100, id: 'json-run' },
    }),
  );
  assert.equal(res.statusCode, 202, res.body);
  assert.equal(res.json<RunBody>().id, 'json-run');
  const final = await untilEnded('json-run');
  assert.equal(final.status, 'completed');
  assert.deepEqual([final.done, final.rejected, final.output], [499, 1, 'nightly/out/scores.csv']);

  const output = await app.inject(as(acme, { url: '/v1/runs/json-run/output' }));
  assert.equal(output.statusCode, 200);
  assert.match(output.headers['content-disposition'] as string, /json-run\.output\.csv/);
  const outLines = output.body.trimEnd().split('\n');
  assert.equal(outLines.length, 500);
  const expected = await direct(rows);
  const kept = outLines.slice(1).map((l) => Number(l.split(',')[0]!.slice(1)));
  assert.deepEqual(
    kept,
    [...Array(500).keys()].filter((i) => i !== 7),
    'every good row, in input order',
  );
  outLines.slice(1).forEach((line, j) => {
    const i = kept[j]!;
    const [, , , stay] = line.split(',');
    assert.ok(Math.abs(Number(stay) - expected[i * 2]!) < 1e-6);
  });
  const rejects = await app.inject(as(acme, { url: '/v1/runs/json-run/rejects' }));
  assert.equal(rejects.statusCode, 200);
  assert.match(rejects.body, /^line,field,reason\n8,f03,/);
});

test('paths that leave SCOREQ_RUNS_DIR are refused with 400 INVALID_PATH and nothing starts', async () => {
  await writeFile(join(outside, 'secret.csv'), toCsv(randomRows(F32, 3, 13)));
  await writeFile(join(runsDir, 'ok.csv'), toCsv(randomRows(F32, 3, 14)));
  await symlink(join(outside, 'secret.csv'), join(runsDir, 'linked.csv'));
  await symlink(outside, join(runsDir, 'escape'));
  const before = await runKeys();
  const cases: Array<[Record<string, string>, string]> = [
    [{ input: '../secret.csv', output: 'x.csv' }, 'input'],
    [{ input: join(outside, 'secret.csv'), output: 'x.csv' }, 'input'],
    [{ input: 'linked.csv', output: 'x.csv' }, 'input'],
    [{ input: 'escape/secret.csv', output: 'x.csv' }, 'input'],
    [{ input: 'ok.csv', output: '../x.csv' }, 'output'],
    [{ input: 'ok.csv', output: '/tmp/x.csv' }, 'output'],
    [{ input: 'ok.csv', output: 'escape/x.csv' }, 'output'],
    [{ input: 'ok.csv', output: 'escape/new/x.csv' }, 'output'],
    [{ input: 'nested/../../secret.csv', output: 'x.csv' }, 'input'],
  ];
  for (const [files, field] of cases) {
    const res = await app.inject(as(acme, { method: 'POST', url: '/v1/runs', payload: { model: 'churn', ...files } }));
    refusedWith(res, 400, 'INVALID_PATH', field);
  }
  assert.deepEqual(await runKeys(), before, 'no run state was written');
  await assert.rejects(readFile(join(outside, 'x.csv')), { code: 'ENOENT' });
  await assert.rejects(readFile(join(outside, 'new', 'x.csv')), { code: 'ENOENT' });
});

test("another tenant's run answers 404 exactly as a missing one, and its id cannot be taken over", async () => {
  await writeFile(join(runsDir, 'tenant.csv'), toCsv(randomRows(F32, 50, 15)));
  const res = await app.inject(
    as(acme, { method: 'POST', url: '/v1/runs', payload: { model: 'churn', input: 'tenant.csv', output: 'tenant-out.csv', id: 'acme-run' } }),
  );
  assert.equal(res.statusCode, 202, res.body);
  await untilEnded('acme-run');
  for (const [method, suffix] of [
    ['GET', ''],
    ['DELETE', ''],
    ['GET', '/output'],
    ['GET', '/rejects'],
  ] as const) {
    const theirs = refusedWith(await app.inject(as(globex, { method, url: `/v1/runs/acme-run${suffix}` })), 404, 'RUN_NOT_FOUND');
    const missing = refusedWith(await app.inject(as(globex, { method, url: `/v1/runs/no-such-run${suffix}` })), 404, 'RUN_NOT_FOUND');
    assert.equal(theirs.message.replace('acme-run', 'X'), missing.message.replace('no-such-run', 'X'));
  }
  const taken = await app.inject(
    as(globex, { method: 'POST', url: '/v1/runs', payload: { model: 'churn', input: 'tenant.csv', output: 'g.csv', id: 'acme-run' } }),
  );
  refusedWith(taken, 409, 'RUN_EXISTS', 'id');
  refusedWith(
    await app.inject(as(reader, { method: 'POST', url: '/v1/runs', payload: { model: 'churn', input: 'tenant.csv', output: 'r.csv' } })),
    403,
    'FORBIDDEN',
  );
  assert.equal((await app.inject(as(reader, { url: '/v1/runs/acme-run' }))).statusCode, 200, 'read scope reads');

  const listed = (key: CreatedApiKey, query = ''): Promise<string[]> =>
    app
      .inject(as(key, { url: `/v1/runs${query}` }))
      .then((r) => (assert.equal(r.statusCode, 200, r.body), r.json<{ runs: RunBody[] }>().runs.map((x) => x.id)));
  assert.ok((await listed(acme)).includes('acme-run'), "the tenant's list holds its run");
  assert.ok((await listed(acme, '?status=completed')).includes('acme-run'));
  assert.ok(!(await listed(acme, '?status=running')).includes('acme-run'), 'filtered by status');
  assert.ok(!(await listed(globex)).includes('acme-run'), "another tenant's list does not");
  refusedWith(await app.inject(as(acme, { url: '/v1/runs?status=done' })), 400, 'INVALID_INPUT');
});

test('the OpenAPI document lists the run routes', async () => {
  const doc = (await app.inject({ url: '/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
  assert.deepEqual(Object.keys(doc.paths['/v1/runs']!).sort(), ['get', 'post']);
  assert.deepEqual(Object.keys(doc.paths['/v1/runs/{id}']!).sort(), ['delete', 'get']);
  assert.ok(doc.paths['/v1/runs/{id}/output']?.['get'] && doc.paths['/v1/runs/{id}/rejects']?.['get']);
});

test('DELETE cancels a running run; its output answers 409 before and after, and one run.cancelled webhook is sent', async () => {
  const queue = new Queue(bulkQueueName('churn'), { connection: redis, prefix });
  await queue.pause();
  try {
    const started = await app.inject(
      as(acme, {
        method: 'POST',
        url: `/v1/runs?model=churn&chunkRows=50&id=to-cancel&callbackUrl=${encodeURIComponent(hooks.url)}`,
        headers: { 'content-type': 'application/x-ndjson' },
        payload: randomRows(F32, 1_000, 16)
          .map((r) => JSON.stringify(r))
          .join('\n'),
      }),
    );
    assert.equal(started.statusCode, 202, started.body);
    const early = refusedWith(await app.inject(as(acme, { url: '/v1/runs/to-cancel/output' })), 409, 'RUN_NOT_FINISHED');
    assert.match(early.message, /is running/);
    refusedWith(await app.inject(as(acme, { url: '/v1/runs/to-cancel/rejects' })), 409, 'RUN_NOT_FINISHED');

    const cancelled = await app.inject(as(acme, { method: 'DELETE', url: '/v1/runs/to-cancel' }));
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json<RunBody>().status, 'cancelled');
    assert.equal(cancelled.json<RunBody>().error?.code, 'CANCELLED');
    assert.equal(await queue.getWaitingCount(), 0, 'its waiting chunks are removed');
    assert.equal((await app.inject(as(acme, { method: 'DELETE', url: '/v1/runs/to-cancel' }))).json<RunBody>().status, 'cancelled');
    assert.match(refusedWith(await app.inject(as(acme, { url: '/v1/runs/to-cancel/output' })), 409, 'RUN_NOT_FINISHED').message, /ended cancelled/);

    const payload = await verifyDelivery<{ type: string; status: string; error: { code: string } }>(redis, prefix, 'acme', await hooks.next('to-cancel'));
    assert.deepEqual([payload.type, payload.status, payload.error.code], ['run.cancelled', 'cancelled', 'CANCELLED']);
    await deliveriesSettled(redis, prefix);
    assert.equal(hooks.about('to-cancel').length, 1);
  } finally {
    await queue.resume();
    await queue.close();
  }
});

test('uploads are refused before anything starts: too large (413), no model, a refused callback, a taken id', async () => {
  const big = `${'x'.repeat(1024)}\n`.repeat(UPLOAD_LIMIT / 1024 + 8);
  const before = await runKeys();
  const upload = (query: string, payload: string): Promise<LightMyRequestResponse> =>
    app.inject(as(acme, { method: 'POST', url: `/v1/runs?${query}`, headers: { 'content-type': 'text/csv' }, payload }));
  refusedWith(await upload('model=churn&id=too-big', big), 413, 'BODY_TOO_LARGE');
  refusedWith(await upload('id=no-model', 'a,b\n1,2\n'), 400, 'INVALID_INPUT', 'query.model');
  refusedWith(await upload('model=nope', 'a,b\n1,2\n'), 404, 'MODEL_NOT_FOUND');
  refusedWith(await upload('model=churn&callbackUrl=http%3A%2F%2F169.254.169.254%2Fx', 'a,b\n1,2\n'), 400, 'CALLBACK_URL_REFUSED');
  refusedWith(await upload('model=churn&format=jsonl', 'a,b\n1,2\n'), 400, 'INVALID_INPUT', 'query.format');
  assert.deepEqual(await runKeys(), before);
  await assert.rejects(readFile(join(runsDir, 'too-big', 'input.csv')), { code: 'ENOENT' }, 'a refused upload leaves no file');
  refusedWith(await upload('model=churn&id=json-run', 'a,b\n1,2\n'), 409, 'RUN_EXISTS', 'id');
  const json = await app.inject(
    as(acme, { method: 'POST', url: '/v1/runs', payload: { model: 'churn', input: 'ok.csv', output: 'y.csv', callbackUrl: 'http://10.0.0.1/x' } }),
  );
  refusedWith(json, 400, 'CALLBACK_URL_REFUSED');
});

/**
 * Starts run `id` on an API of its own while the bulk queue is paused, and closes that API: the
 * run is left running with no producer. Then a second API starts, `act` does what the test is
 * about, and the run must complete with every row scored in order.
 */
async function runLeftByClosedApi(id: string, rowCount: number, seed: number, act: (second: FastifyInstance, request: object) => Promise<void>): Promise<void> {
  const queue = new Queue(bulkQueueName('churn'), { connection: redis, prefix });
  await queue.pause();
  const rows = randomRows(F32, rowCount, seed);
  await writeFile(join(runsDir, `${id}.csv`), toCsv(rows));
  const request = { model: 'churn', input: `${id}.csv`, output: `${id}-out.csv`, passThrough: ['id'], chunkRows: 100, id };
  const first = await buildApi({ config, logger: createLogger({ level: 'silent' }) });
  let second: FastifyInstance | undefined;
  try {
    assert.equal((await first.inject(as(acme, { method: 'POST', url: '/v1/runs', payload: request }))).statusCode, 202);
    await first.close();
    assert.equal((await redis.hgetall(keys(prefix).run(id))).status, 'running', 'a stopped run is not ended: it waits for a producer');
    assert.equal(await redis.exists(`${keys(prefix).run(id)}:producer`), 0, 'its producer lock is released');
    await queue.resume();
    second = await buildApi({ config, logger: createLogger({ level: 'silent' }) });
    await act(second, request);
    const final = await untilEnded(id); // read as acme: it kept its tenant
    assert.equal(final.status, 'completed');
    const lines = (await readFile(join(runsDir, `${id}-out.csv`), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, rowCount + 1);
    checkCsv(lines.slice(1), await direct(rows));
  } finally {
    await queue.resume();
    await queue.close();
    await first.close();
    await second?.close();
  }
}

test('closing the API stops its runs resumable; a new API resumes one with the same request and finishes it', async () => {
  await runLeftByClosedApi('survives', 600, 17, async (second, request) => {
    const resumed = await second.inject(as(acme, { method: 'POST', url: '/v1/runs', payload: request }));
    assert.equal(resumed.statusCode, 202, resumed.body);
  });
});

test('an API that starts while a run in its SCOREQ_RUNS_DIR has no producer resumes it by itself', async () => {
  // No request names the run: the second API's adopter finds it.
  await runLeftByClosedApi('orphan', 400, 23, async () => undefined);
});
