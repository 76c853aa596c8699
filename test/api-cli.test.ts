/**
 * `scoreq api` and `scoreq keys` as processes: a key created on the command line works against
 * the API the command serves, revoking it locks it out, and SIGTERM stops the API with exit 0.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { startCli, type CliProcess } from './helpers/processes.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';

const prefix = testPrefix();
const env = { REDIS_URL: redisUrl(), SCOREQ_PREFIX: prefix, PORT: '0', LOG_LEVEL: 'info' };
let redis: Redis;
let api: CliProcess;
let url: string;

/** Runs a `scoreq` command to its end: exit code, stdout and stderr. */
async function scoreq(...args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const cli = startCli(args, env);
  const code = await cli.exited;
  return { code, stdout: cli.lines.join('\n'), stderr: cli.stderr() };
}

/** Whether nothing listens on 127.0.0.1:`port` right now. */
async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

before(async () => {
  redis = new Redis(redisUrl());
  api = startCli(['api', '--host', '127.0.0.1'], env);
  const line = await api.waitForLine('scoreq api listening');
  url = (JSON.parse(line) as { url: string }).url;
});

after(async () => {
  if (api && api.child.exitCode === null) {
    api.child.kill('SIGTERM');
    await api.exited;
  }
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
});

test('scoreq keys create prints a key once that the API started by scoreq api accepts, with its scopes', async () => {
  const created = await scoreq('keys', 'create', '--tenant', 'acme', '--scopes', 'submit,read', '--name', 'cli-test', '--json');
  assert.equal(created.code, 0, created.stdout);
  const { id, key, tenant, scopes } = JSON.parse(created.stdout) as { id: string; key: string; tenant: string; scopes: string[] };
  assert.equal(tenant, 'acme');
  assert.deepEqual(scopes, ['submit', 'read']);
  assert.match(key, new RegExp(`^sq_${id}_`));

  const ready = await fetch(`${url}/v2/health/ready`);
  assert.equal(ready.status, 200);
  const job = await fetch(`${url}/v1/jobs/churn.unknown`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(job.status, 404, 'authenticated: the job is just unknown');
  const admin = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(admin.status, 403);

  const listed = await scoreq('keys', 'list');
  assert.equal(listed.code, 0);
  assert.match(listed.stdout, new RegExp(`${id}\\s+acme\\s+submit,read\\s+cli-test`));
  assert.doesNotMatch(listed.stdout, new RegExp(key.slice(20)), 'list never shows a key');

  const revoked = await scoreq('keys', 'revoke', id);
  assert.equal(revoked.code, 0, revoked.stdout);
  assert.match(revoked.stdout, new RegExp(`revoked API key ${id}`));
  const after = await fetch(`${url}/v1/jobs/churn.unknown`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(after.status, 401);
  assert.match(((await after.json()) as { error: { message: string } }).error.message, /revoked/);
});

test('scoreq keys create without --json prints only the key on stdout and says on stderr it will not be shown again', async () => {
  const created = await scoreq('keys', 'create', '--tenant', 'acme', '--scopes', 'read');
  assert.equal(created.code, 0, created.stderr);
  const printed = created.stdout.split('\n');
  assert.equal(printed.length, 1, `stdout is the key alone: ${created.stdout}`);
  const match = /^sq_([0-9a-f]{16})_[A-Za-z0-9_-]{32}$/.exec(printed[0]!);
  assert.ok(match, `a key: ${printed[0]!}`);
  const [key, id] = [match[0], match[1]!];
  assert.match(created.stderr, new RegExp(`API key ${id} for tenant acme \\(scopes: read\\)`));
  assert.match(created.stderr, /will not be shown again/);
  assert.equal(created.stderr.includes(key), false, 'stderr does not repeat the key');
  const job = await fetch(`${url}/v1/jobs/churn.unknown`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(job.status, 404, 'the printed key is accepted: the job is just unknown');
  const listed = await scoreq('keys', 'list');
  assert.match(listed.stdout, new RegExp(id));
  assert.equal(listed.stdout.includes(key.slice(20)), false, 'list never shows it again');
});

test('scoreq api listens on port 3000 when PORT is unset', async (t) => {
  if (!(await portFree(3000))) {
    t.skip('port 3000 is in use on this machine, so the default port cannot be tried');
    return;
  }
  const onDefault = startCli(['api', '--host', '127.0.0.1'], { ...env, PORT: '' });
  try {
    const line = await onDefault.waitForLine('scoreq api listening');
    assert.equal((JSON.parse(line) as { url: string }).url, 'http://127.0.0.1:3000');
    assert.equal((await fetch('http://127.0.0.1:3000/v2/health/live')).status, 200);
    onDefault.child.kill('SIGTERM');
    assert.equal(await onDefault.exited, 0);
  } finally {
    if (onDefault.child.exitCode === null && onDefault.child.signalCode === null) {
      onDefault.child.kill('SIGKILL');
      await onDefault.exited;
    }
  }
});

test('scoreq keys refuses unknown scopes and ids with a usage error', async () => {
  assert.equal((await scoreq('keys', 'create', '--tenant', 'acme', '--scopes', 'submit,root')).code, 2);
  assert.equal((await scoreq('keys', 'revoke', 'ffffffffffffffff')).code, 2);
});

test('scoreq api stops on SIGTERM with exit code 0', async () => {
  api.child.kill('SIGTERM');
  assert.equal(await api.exited, 0);
});
