import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { keys, WEBHOOK_QUEUE } from '@scoreq/contracts';
import { getWebhookSecret, type DeadLetter, type DeliveryJobData } from '@scoreq/webhooks';
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
  const env = { ...process.env, REDIS_URL: redisUrl(), SCOREQ_PREFIX: prefix };
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

test('scoreq webhooks dead-letters lists dead letters, and replay queues one again and removes it from the list', async () => {
  const empty = await scoreq('webhooks', 'dead-letters');
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /no dead-lettered webhook deliveries/);

  const letter: DeadLetter = {
    id: 'msg_0123456789abcdef0123456789abcdef',
    messageId: 'msg_0123456789abcdef0123456789abcdef',
    callbackUrl: 'https://hooks.example.com/scoreq?token=secret-token',
    tenant: 'acme',
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
