import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { keys, WEBHOOK_QUEUE } from '@scoreq/contracts';
import { getWebhookEndpoint, getWebhookSecret, type DeadLetter, type DeliveryJobData } from '@scoreq/webhooks';
import { CLI } from './helpers/processes.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';

const prefix = testPrefix();
const redis = new Redis(redisUrl());
const queue = new Queue<DeliveryJobData>(WEBHOOK_QUEUE, { connection: redis, prefix });
after(async () => {
  await queue.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `scoreq <args>` on this file's Redis and prefix. */
function scoreq(...args: string[]): Promise<Run> {
  return scoreqWith({}, ...args);
}

/** Runs `scoreq <args>` with more environment variables. */
function scoreqWith(extraEnv: Record<string, string>, ...args: string[]): Promise<Run> {
  const env = { ...process.env, REDIS_URL: redisUrl(), SCOREQ_PREFIX: prefix, ...extraEnv };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('scoreq webhooks secret prints the tenant secret, creating it once, and --rotate replaces it', async () => {
  const first = await scoreq('webhooks', 'secret', 'acme');
  assert.equal(first.code, 0, first.stderr);
  const secret = first.stdout.trim();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
  assert.equal((await scoreq('webhooks', 'secret', 'acme')).stdout.trim(), secret);
  assert.equal(await getWebhookSecret(redis, prefix, 'acme'), secret, 'the delivery worker signs with the same secret');

  const rotated = await scoreq('webhooks', 'secret', 'acme', '--rotate');
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.notEqual(rotated.stdout.trim(), secret);
  assert.equal(await getWebhookSecret(redis, prefix, 'acme'), rotated.stdout.trim());
});

/** A dead letter as the delivery worker stores it, written by hand to list and replay it. */
function deadLetter({ id, tenant }: { id: string; tenant: string }): DeadLetter {
  return {
    id,
    messageId: id,
    callbackUrl: 'https://hooks.example.com/scoreq?token=secret-token',
    tenant,
    payload: {
      type: 'job.failed',
      id: 'churn.1',
      status: 'failed',
      model: 'churn',
      finishedAt: '2025-01-01T00:00:00.000Z',
      error: { code: 'INTERNAL', message: 'x' },
    },
    createdAt: '2025-01-01T00:00:00.000Z',
    outcome: 'dead',
    attempts: 8,
    lastError: 'HTTP 503',
    lastStatus: 503,
    deadAt: '2025-01-02T00:00:00.000Z',
  };
}

test('scoreq webhooks dead-letters lists dead letters, and replay queues one again and removes it from the list', async () => {
  const empty = await scoreq('webhooks', 'dead-letters');
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /no dead-lettered webhook deliveries/);

  const letter = deadLetter({ id: 'msg_0123456789abcdef0123456789abcdef', tenant: 'acme' });
  await redis.lpush(keys(prefix).webhookDeadLetters(), JSON.stringify(letter));

  const table = await scoreq('webhooks', 'dead-letters');
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^id +dead at +tenant +job +type +callback +outcome +attempts +last error$/m);
  assert.match(table.stdout, /msg_0123456789abcdef0123456789abcdef .* acme +churn\.1 +job\.failed +https:\/\/hooks\.example\.com +dead +8 +HTTP 503/);
  assert.doesNotMatch(table.stdout, /secret-token/, 'the table shows the origin only');
  const json = await scoreq('webhooks', 'dead-letters', '--json');
  assert.deepEqual(JSON.parse(json.stdout), [letter]);

  const replayed = await scoreq('webhooks', 'replay', letter.id);
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.match(replayed.stdout, /queued msg_0123456789abcdef0123456789abcdef \(job\.failed of job churn\.1\)/);
  const [job, ...more] = await queue.getWaiting();
  assert.equal(more.length, 0);
  assert.equal(job?.data.messageId, letter.id);
  assert.deepEqual(job?.data.payload, letter.payload);
  assert.equal(await redis.llen(keys(prefix).webhookDeadLetters()), 0);

  const again = await scoreq('webhooks', 'replay', letter.id);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^error \[DEAD_LETTER_NOT_FOUND\]: /);
});

test('scoreq webhooks dead-letters refuses a bad --limit as a usage error', async () => {
  const run = await scoreq('webhooks', 'dead-letters', '--limit', '0');
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--limit must be a whole number from 1/);
});

test("scoreq webhooks endpoint sets a tenant's endpoint through the SSRF guard, prints it and --remove removes it", async () => {
  const none = await scoreq('webhooks', 'endpoint', 'initech');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error \[WEBHOOK_ENDPOINT_NOT_FOUND\]: tenant initech has no webhook endpoint/);

  const url = 'http://127.0.0.1:9/hooks?token=t';
  const refused = await scoreq('webhooks', 'endpoint', 'initech', url);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error \[CALLBACK_URL_REFUSED\]: .*127\.0\.0\.1 is a loopback address/);
  assert.equal(await getWebhookEndpoint(redis, prefix, 'initech'), undefined, 'a refused URL is not stored');

  const set = await scoreqWith({ SCOREQ_WEBHOOK_ALLOW: '127.0.0.1' }, 'webhooks', 'endpoint', 'initech', url);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(await getWebhookEndpoint(redis, prefix, 'initech'), url, 'the workers read what the CLI stored');
  assert.equal((await scoreq('webhooks', 'endpoint', 'initech')).stdout.trim(), url);

  const both = await scoreq('webhooks', 'endpoint', 'initech', url, '--remove');
  assert.equal(both.code, 2);
  const removed = await scoreq('webhooks', 'endpoint', 'initech', '--remove');
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /removed the webhook endpoint of initech/);
  assert.equal(await getWebhookEndpoint(redis, prefix, 'initech'), undefined);
});

test("scoreq webhooks dead-letters --tenant lists only that tenant's letters", async () => {
  const key = keys(prefix).webhookDeadLetters();
  await redis.lpush(
    key,
    JSON.stringify(deadLetter({ id: 'msg_a1', tenant: 'acme' })),
    JSON.stringify(deadLetter({ id: 'msg_g1', tenant: 'globex' })),
    JSON.stringify(deadLetter({ id: 'msg_a2', tenant: 'acme' })),
  );
  try {
    const acme = await scoreq('webhooks', 'dead-letters', '--json', '--tenant', 'acme');
    assert.equal(acme.code, 0, acme.stderr);
    assert.deepEqual(
      (JSON.parse(acme.stdout) as DeadLetter[]).map((l) => l.id),
      ['msg_a2', 'msg_a1'],
    );
    const newest = await scoreq('webhooks', 'dead-letters', '--json', '--tenant', 'acme', '--limit', '1');
    assert.deepEqual(
      (JSON.parse(newest.stdout) as DeadLetter[]).map((l) => l.id),
      ['msg_a2'],
    );
  } finally {
    await redis.del(key);
  }
});
