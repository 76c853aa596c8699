import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureRedis, pingRedis } from '@scoreq/cli';
import { createLogger } from '@scoreq/telemetry';
import { redisUrl } from './helpers/redis.js';

const logger = createLogger({ level: 'silent' });
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A loopback port nothing listens on: the OS hands it out, and we close it straight away. */
function deadPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True once `pid` is gone, or a zombie nobody has reaped yet (it runs no code any more). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // /proc entry vanished between the two checks
  }
}

/** Polls `processGone` for up to 5 s: a killed process disappears a moment after the signal. */
async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (processGone(pid)) return true;
    await sleep(50);
  }
  return processGone(pid);
}

test('ensureRedis starts a private redis-server when nothing answers, and stop() leaves no process and no directory', async () => {
  const probeUrl = `redis://127.0.0.1:${await deadPort()}`;
  const redis = await ensureRedis({ logger, probeUrl });
  const { pid, dir } = redis;
  try {
    assert.equal(redis.started, true);
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(redis.url, probeUrl);
    assert.ok(pid !== undefined && pid > 0);
    assert.ok(dir !== undefined && existsSync(dir));
    await pingRedis(redis.url, 1000);
  } finally {
    await redis.stop();
  }
  assert.ok(processGone(pid), `redis-server ${pid} still runs after stop()`);
  assert.equal(existsSync(dir), false, `${dir} still exists after stop()`);
  await redis.stop(); // idempotent
});

test('ensureRedis uses the Redis answering on the probe URL and stop() leaves it running', async () => {
  const url = redisUrl();
  const redis = await ensureRedis({ logger, probeUrl: url });
  assert.equal(redis.started, false);
  assert.equal(redis.url, url);
  assert.equal(redis.pid, undefined);
  await redis.stop();
  await pingRedis(url, 1000);
});

test('ensureRedis uses REDIS_URL as is when it answers', async () => {
  const url = redisUrl();
  const redis = await ensureRedis({ logger, url, probeUrl: `redis://127.0.0.1:${await deadPort()}` });
  assert.equal(redis.started, false);
  assert.equal(redis.url, url);
});

test('an unreachable REDIS_URL fails with REDIS_UNAVAILABLE naming the URL', async () => {
  const url = `redis://127.0.0.1:${await deadPort()}`;
  await assert.rejects(ensureRedis({ logger, url }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'REDIS_UNAVAILABLE');
    assert.ok(err.message.includes(url), err.message);
    assert.match(err.message, /ECONNREFUSED/);
    return true;
  });
});

test('an unreachable REDIS_URL is named without its password', async () => {
  const port = await deadPort();
  await assert.rejects(ensureRedis({ logger, url: `redis://scoreq:s3cret@127.0.0.1:${port}` }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'REDIS_UNAVAILABLE');
    assert.ok(err.message.includes(`redis://scoreq:***@127.0.0.1:${port}`), err.message);
    assert.equal(err.message.includes('s3cret'), false);
    return true;
  });
});

test('a REDIS_URL that is not a redis URL is refused as CONFIG_INVALID', async () => {
  await assert.rejects(ensureRedis({ logger, url: 'http://127.0.0.1:6379' }), { code: 'CONFIG_INVALID', message: /REDIS_URL=http:\/\/127\.0\.0\.1:6379/ });
});

test('a missing redis-server binary fails with install instructions', async () => {
  const probeUrl = `redis://127.0.0.1:${await deadPort()}`;
  await assert.rejects(ensureRedis({ logger, probeUrl, binary: 'scoreq-test-no-such-redis-server' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'REDIS_UNAVAILABLE');
    assert.match(err.message, /apt-get install redis-server/);
    assert.match(err.message, /brew install redis/);
    assert.match(err.message, /REDIS_URL/);
    assert.ok(err.message.includes(probeUrl), err.message);
    return true;
  });
});

test('a redis-server that exits before answering is reported, not waited on until the timeout', async () => {
  const probeUrl = `redis://127.0.0.1:${await deadPort()}`;
  const started = Date.now();
  await assert.rejects(ensureRedis({ logger, probeUrl, binary: 'false', startTimeoutMs: 30_000 }), {
    code: 'REDIS_UNAVAILABLE',
    message: /exited \(code 1\) before answering PING/,
  });
  assert.ok(Date.now() - started < 10_000);
});

test('refuses a non-positive start timeout by name', async () => {
  await assert.rejects(ensureRedis({ logger, startTimeoutMs: 0 }), { code: 'INVALID_OPTION', message: /options\.startTimeoutMs/ });
});

/**
 * Runs a node process that starts a private Redis, prints `<pid> <dir>` and then does what
 * `then` says, without ever calling stop().
 */
async function orphanCheck(
  then: 'exit' | 'wait',
  signal?: NodeJS.Signals,
): Promise<{ pid: number; dir: string; code: number | null; signal: NodeJS.Signals | null }> {
  const probeUrl = `redis://127.0.0.1:${await deadPort()}`;
  const script = `
    import { ensureRedis } from '@scoreq/cli';
    import { createLogger } from '@scoreq/telemetry';
    const redis = await ensureRedis({ logger: createLogger({ level: 'silent' }), probeUrl: ${JSON.stringify(probeUrl)} });
    process.stdout.write(redis.pid + ' ' + redis.dir + '\\n');
    ${then === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  // 'close', not 'exit': it comes after stdout has been read to the end.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, sig) => r({ code, signal: sig })));
  const line = await new Promise<string>((resolveLine, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolveLine(out.trim());
    });
    void exited.then(() => (out.includes('\n') ? undefined : reject(new Error(`child exited before printing: ${out}`))));
  });
  const [pidText, dir = ''] = line.split(' ');
  if (signal) child.kill(signal);
  const outcome = await exited;
  return { pid: Number(pidText), dir, ...outcome };
}

test('the started redis-server dies with the process that started it when it exits without stop()', async () => {
  const { pid, dir, code } = await orphanCheck('exit');
  assert.equal(code, 0);
  assert.ok(await waitGone(pid), `redis-server ${pid} outlived its parent`);
  assert.equal(existsSync(dir), false);
});

test('the started redis-server dies with the process that started it on SIGTERM', async () => {
  const { pid, dir, signal } = await orphanCheck('wait', 'SIGTERM');
  assert.equal(signal, 'SIGTERM', 'the process still dies of the signal');
  assert.ok(await waitGone(pid), `redis-server ${pid} outlived its parent`);
  assert.equal(existsSync(dir), false);
});
