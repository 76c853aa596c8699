/**
 * The HTTP API's model routes against the real model registry (Redis store, real onnxruntime
 * validation): upload, list, inspect, validate, promote and roll back, with admin scope; bad
 * uploads refused and nothing registered; then a registry-backed worker scoring through the API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import type { EnvConfig, ModelMetadata } from '@scoreq/contracts';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import { createLogger } from '@scoreq/telemetry';
import type { ScoringWorker } from '@scoreq/worker';
import { ApiKeyStore, buildApi, type CreatedApiKey } from '@scoreq/api';
import { featureNames, randomRows } from './helpers/models.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F8 = featureNames(8);
const MAX_MODEL_BYTES = 200_000;
const metadata: ModelMetadata = { features: F8, output: { kind: 'classification', labels: ['low', 'high'] }, owner: 'risk-team' };
let dir: string;
let config: EnvConfig;
let app: FastifyInstance;
let redis: Redis;
let admin: CreatedApiKey;
let submitter: CreatedApiKey;
let worker: ScoringWorker | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scoreq-api-models-'));
  config = testConfig(prefix, join(dir, 'unused'), {
    SCOREQ_MODEL_SOURCE: 'registry',
    SCOREQ_MODEL_STORE: 'redis',
    SCOREQ_MODEL_CACHE_DIR: join(dir, 'cache'),
    SCOREQ_MAX_MODEL_BYTES: MAX_MODEL_BYTES,
  });
  app = await buildApi({ config, logger: createLogger({ level: 'silent' }), maxWaitMs: 20_000 });
  redis = new Redis(redisUrl());
  const keys = new ApiKeyStore(redis, prefix);
  admin = await keys.create({ tenant: 'ml', scopes: ['admin', 'submit', 'read'] });
  submitter = await keys.create({ tenant: 'ml', scopes: ['submit', 'read'] });
});

after(async () => {
  await app?.close();
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await rm(dir, { recursive: true, force: true });
});

function as(key: CreatedApiKey, options: InjectOptions): InjectOptions {
  return { ...options, headers: { authorization: `Bearer ${key.key}`, ...options.headers } };
}

function upload(name: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject(
    as(admin, {
      method: 'POST',
      url: `/v1/models/${name}/versions`,
      payload: Buffer.from(bytes),
      headers: { 'content-type': 'application/octet-stream', 'scoreq-metadata': JSON.stringify(metadata), ...headers },
    }),
  );
}

function errorOf(res: LightMyRequestResponse): { code: string; message: string; details?: Record<string, unknown> } {
  return res.json<{ error: { code: string; message: string; details?: Record<string, unknown> } }>().error;
}

async function versionsOf(name: string): Promise<string[]> {
  const res = await app.inject(as(admin, { url: `/v1/models/${name}` }));
  return res.statusCode === 404 ? [] : res.json<{ versions: { version: string }[] }>().versions.map((v) => v.version);
}

test('uploading a model answers 201 with its version number, signature, metadata and author', async () => {
  const res = await upload('risk', buildLogisticRegression({ features: 8, seed: 3 }).bytes, { 'scoreq-comment': 'first fit' });
  assert.equal(res.statusCode, 201, res.body);
  const { model, version, removed } = res.json<{
    model: string;
    version: {
      version: string;
      comment: string;
      author: string;
      metadata: ModelMetadata;
      signature: { inputs: { name: string; type: string; shape: unknown[] }[] };
    };
    removed: string[];
  }>();
  assert.equal(model, 'risk');
  assert.equal(version.version, '1');
  assert.equal(version.comment, 'first fit');
  assert.equal(version.author, `api-key ${admin.id} (ml)`);
  assert.deepEqual(version.metadata.features, F8);
  assert.deepEqual(version.signature.inputs, [{ name: 'input', type: 'float32', shape: ['N', 8] }]);
  assert.deepEqual(removed, []);
  const second = await upload('risk', buildLogisticRegression({ features: 8, seed: 4 }).bytes);
  assert.equal(second.statusCode, 201, second.body);
  assert.equal(second.json<{ version: { version: string } }>().version.version, '2');
});

test('GET /v1/models lists models; GET /v1/models/:name shows versions, aliases and history', async () => {
  const list = await app.inject(as(admin, { url: '/v1/models' }));
  assert.equal(list.statusCode, 200, list.body);
  assert.deepEqual(list.json(), { models: [{ name: 'risk', versions: ['1', '2'], latest: '2', aliases: {} }] });
  const one = await app.inject(as(admin, { url: '/v1/models/risk' }));
  assert.equal(one.statusCode, 200, one.body);
  const detail = one.json<{ name: string; aliases: Record<string, string>; versions: { version: string; sha256: string }[]; history: unknown[] }>();
  assert.equal(detail.name, 'risk');
  assert.deepEqual(
    detail.versions.map((v) => v.version),
    ['1', '2'],
  );
  assert.match(detail.versions[0]!.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(detail.history, []);
  const missing = await app.inject(as(admin, { url: '/v1/models/nope' }));
  assert.equal(missing.statusCode, 404);
  assert.equal(errorOf(missing).code, 'MODEL_NOT_FOUND');
});

test('validating a version answers its report, compared with what the alias points at', async () => {
  const res = await app.inject(as(admin, { method: 'POST', url: '/v1/models/risk/versions/2/validate' }));
  assert.equal(res.statusCode, 200, res.body);
  const report = res.json<{ ok: boolean; version: string; notes: string[]; samples: { rows: number } }>();
  assert.equal(report.ok, true);
  assert.equal(report.version, '2');
  assert.ok(report.samples.rows > 0);
  assert.ok(
    report.notes.some((n) => /production points at no version/.test(n)),
    report.notes.join('; '),
  );
});

test('promoting moves an alias after validation, and a rollback moves it back, all in the history', async () => {
  const first = await app.inject(as(admin, { method: 'POST', url: '/v1/models/risk/aliases/production', payload: { version: '1', reason: 'first release' } }));
  assert.equal(first.statusCode, 200, first.body);
  assert.deepEqual((({ alias, from, to, kind, reason }) => ({ alias, from, to, kind, reason }))(first.json<{ move: Record<string, unknown> }>().move), {
    alias: 'production',
    from: null,
    to: '1',
    kind: 'promote',
    reason: 'first release',
  });
  const second = await app.inject(as(admin, { method: 'POST', url: '/v1/models/risk/aliases/production', payload: { version: '2', reason: 'better AUC' } }));
  assert.equal(second.statusCode, 200, second.body);
  const change = second.json<{ move: { from: string; to: string }; report: { ok: boolean; comparison: { alias: string; version: string } } }>();
  assert.deepEqual([change.move.from, change.move.to], ['1', '2']);
  assert.equal(change.report.ok, true);
  assert.deepEqual([change.report.comparison.alias, change.report.comparison.version], ['production', '1']);

  const back = await app.inject(as(admin, { method: 'POST', url: '/v1/models/risk/aliases/production:rollback', payload: { reason: 'latency regression' } }));
  assert.equal(back.statusCode, 200, back.body);
  const move = back.json<{ move: { from: string; to: string; kind: string; by: string } }>().move;
  assert.deepEqual([move.from, move.to, move.kind, move.by], ['2', '1', 'rollback', `api-key ${admin.id} (ml)`]);

  const detail = (await app.inject(as(admin, { url: '/v1/models/risk' }))).json<{ aliases: Record<string, string>; history: { kind: string; to: string }[] }>();
  assert.deepEqual(detail.aliases, { production: '1' });
  assert.deepEqual(
    detail.history.map((m) => `${m.kind}:${m.to}`),
    ['rollback:1', 'promote:2', 'promote:1'],
  );
});

test('alias moves that cannot happen are refused, naming why', async () => {
  const post = (url: string, payload?: Record<string, unknown>) => app.inject(as(admin, { method: 'POST', url, ...(payload ? { payload } : {}) }));
  const noAlias = await post('/v1/models/risk/aliases/staging:rollback');
  assert.equal(noAlias.statusCode, 404, noAlias.body);
  assert.equal(errorOf(noAlias).code, 'ALIAS_NOT_FOUND');
  const noVersion = await post('/v1/models/risk/aliases/staging', { version: '9' });
  assert.equal(noVersion.statusCode, 404);
  assert.equal(errorOf(noVersion).code, 'VERSION_NOT_FOUND');
  const latest = await post('/v1/models/risk/aliases/latest', { version: '1' });
  assert.equal(latest.statusCode, 400);
  assert.equal(errorOf(latest).code, 'INVALID_OPTION');
  const noBody = await post('/v1/models/risk/aliases/staging');
  assert.equal(noBody.statusCode, 400);
  assert.equal(errorOf(noBody).code, 'INVALID_INPUT');
  const typo = await post('/v1/models/risk/aliases/staging', { versoin: '1' });
  assert.equal(typo.statusCode, 400);
  assert.match(errorOf(typo).message, /versoin|version/);
  assert.deepEqual((await app.inject(as(admin, { url: '/v1/models/risk' }))).json<{ aliases: object }>().aliases, { production: '1' });
});

test('bad uploads are refused with the reason and register nothing', async () => {
  const before = await versionsOf('risk');
  const garbage = await upload('risk', new TextEncoder().encode('this is not an onnx model'));
  assert.equal(garbage.statusCode, 400, garbage.body);
  assert.equal(errorOf(garbage).code, 'MODEL_INVALID');
  const empty = await upload('risk', new Uint8Array(0));
  assert.equal(empty.statusCode, 400, empty.body);
  assert.equal(errorOf(empty).code, 'MODEL_INVALID');
  assert.match(errorOf(empty).message, /empty/);
  const model = buildLogisticRegression({ features: 8, seed: 5 }).bytes;
  const notJson = await upload('risk', model, { 'scoreq-metadata': '{features: [' });
  assert.equal(notJson.statusCode, 400);
  assert.equal(errorOf(notJson).code, 'INVALID_METADATA');
  assert.equal(errorOf(notJson).details?.field, 'scoreq-metadata');
  const typo = await upload('risk', model, { 'scoreq-metadata': JSON.stringify({ feature: F8 }) });
  assert.equal(typo.statusCode, 400);
  assert.equal(errorOf(typo).code, 'INVALID_METADATA');
  const misfit = await upload('risk', model, { 'scoreq-metadata': JSON.stringify({ features: F8.slice(0, 3) }) });
  assert.equal(misfit.statusCode, 400, misfit.body);
  assert.match(errorOf(misfit).message, /3|8/);
  const json = await app.inject(as(admin, { method: 'POST', url: '/v1/models/risk/versions', payload: { model: 'base64…' } }));
  assert.equal(json.statusCode, 415);
  assert.equal(errorOf(json).code, 'UNSUPPORTED_MEDIA_TYPE');
  const huge = await upload('risk', new Uint8Array(MAX_MODEL_BYTES + 1));
  assert.equal(huge.statusCode, 413);
  assert.equal(errorOf(huge).code, 'BODY_TOO_LARGE');
  for (const name of ['..%2Frisk', 'risk%2F..', '.hidden']) {
    const tricky = await upload(name, model);
    assert.equal(tricky.statusCode, 400, `${name}: ${tricky.body}`);
    assert.equal(errorOf(tricky).code, 'INVALID_MODEL_NAME');
  }
  const slash = await upload('a/b', model);
  assert.equal(slash.statusCode, 404);
  assert.equal(errorOf(slash).code, 'ROUTE_NOT_FOUND');
  assert.deepEqual(await versionsOf('risk'), before);
  assert.deepEqual(
    (await app.inject(as(admin, { url: '/v1/models' }))).json<{ models: { name: string }[] }>().models.map((m) => m.name),
    ['risk'],
  );
});

test('model routes need the admin scope', async () => {
  const routes: InjectOptions[] = [
    { url: '/v1/models' },
    { url: '/v1/models/risk' },
    { method: 'POST', url: '/v1/models/risk/versions', payload: Buffer.from([1]), headers: { 'content-type': 'application/octet-stream' } },
    { method: 'POST', url: '/v1/models/risk/versions/1/validate' },
    { method: 'POST', url: '/v1/models/risk/aliases/production', payload: { version: '2' } },
    { method: 'POST', url: '/v1/models/risk/aliases/production:rollback' },
  ];
  for (const route of routes) {
    const res = await app.inject(as(submitter, route));
    assert.equal(res.statusCode, 403, `${route.method ?? 'GET'} ${route.url as string}: ${res.body}`);
    assert.equal(errorOf(res).code, 'FORBIDDEN');
  }
  assert.deepEqual((await app.inject(as(admin, { url: '/v1/models/risk' }))).json<{ aliases: object }>().aliases, { production: '1' });
});

test('every model route answers a bad model name with 400 INVALID_MODEL_NAME naming it, and changes nothing', async () => {
  const before = await versionsOf('risk');
  const aliases = (await app.inject(as(admin, { url: '/v1/models/risk' }))).json<{ aliases: object }>().aliases;
  const name = '..%2Frisk';
  const routes: InjectOptions[] = [
    { url: `/v1/models/${name}` },
    { method: 'POST', url: `/v1/models/${name}/versions/1/validate` },
    { method: 'POST', url: `/v1/models/${name}/aliases/production`, payload: { version: '2', force: true } },
    { method: 'POST', url: `/v1/models/${name}/aliases/production:rollback` },
  ];
  for (const route of routes) {
    const res = await app.inject(as(admin, route));
    assert.equal(res.statusCode, 400, `${route.method ?? 'GET'} ${route.url as string}: ${res.body}`);
    assert.equal(errorOf(res).code, 'INVALID_MODEL_NAME');
    assert.match(errorOf(res).message, /model name "\.\.\/risk" is invalid/);
  }
  assert.deepEqual(await versionsOf('risk'), before);
  assert.deepEqual((await app.inject(as(admin, { url: '/v1/models/risk' }))).json<{ aliases: object }>().aliases, aliases);
});

test('a worker on the registry scores what the aliases say, through the API', async () => {
  worker = await startTestWorker(config, ['risk']);
  const rows = randomRows(F8, 2, 1);
  const byAlias = await app.inject(as(submitter, { method: 'POST', url: '/v1/jobs?wait=20s', payload: { model: 'risk', rows } }));
  assert.equal(byAlias.statusCode, 200, byAlias.body);
  assert.equal(byAlias.json<{ version: string }>().version, '1', 'production after the rollback');
  const pinned = await app.inject(as(submitter, { method: 'POST', url: '/v1/jobs?wait=20s', payload: { model: 'risk', version: '2', rows } }));
  assert.equal(pinned.json<{ version: string }>().version, '2');
  const meta = await app.inject(as(submitter, { url: '/v2/models/risk' }));
  assert.deepEqual(meta.json<{ versions: string[] }>().versions, ['1', '2']);
  assert.deepEqual((await app.inject(as(submitter, { url: '/v2/models/risk/ready' }))).json(), { name: 'risk', ready: true });
});
