import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_QUEUE, type JobRecord } from '@scoreq/contracts';
import { createLogger, createMetrics, type ScoreqMetrics } from '@scoreq/telemetry';
import {
  createWebhookNotifier,
  enqueueDelivery,
  getWebhookSecret,
  listDeadLetters,
  payloadOf,
  replayDeadLetter,
  startDeliveryWorker,
  type DeliveryPolicy,
} from '@scoreq/webhooks';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';

const redis = new Redis(redisUrl());
after(() => redis.quit());

/** Long enough for any of these tests on a slow machine; a hang fails instead of stalling the run. */
const TEST_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------- receivers

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** What a receiver does with its nth request (0-based): answer with a status (and headers), or never answer. */
type Reply = number | { status: number; headers: Record<string, string> } | 'hang';

interface Receiver {
  url: string;
  requests: Received[];
  /** Resolves with the nth request (0-based) once it has arrived. */
  request(n: number): Promise<Received>;
}

/** A real HTTP receiver on 127.0.0.1, port 0, closed after the test. */
async function receiver(t: TestContext, reply: (n: number) => Reply): Promise<Receiver> {
  const requests: Received[] = [];
  const waiters: Array<{ n: number; resolve: (r: Received) => void }> = [];
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = requests.length;
      const received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      for (const w of waiters.filter((w) => w.n === n)) w.resolve(received);
      const r = reply(n);
      if (r === 'hang') return;
      const { status, headers } = typeof r === 'number' ? { status: r, headers: {} } : r;
      res.writeHead(status, headers).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/scoreq?token=t0k3n`,
    requests,
    request: (n) => {
      const seen = requests[n];
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}

// ---------------------------------------------------------------- delivery worker

type LogLine = Record<string, unknown> & { msg?: string };

interface Setup {
  prefix: string;
  queue: Queue;
  metrics: ScoreqMetrics;
  /** Resolves with the first log line (from the start) whose msg includes `text` and that matches `where`. */
  logged(text: string, where?: (line: LogLine) => boolean): Promise<LogLine>;
  /** Attempts counted in scoreq_webhook_deliveries_total with this outcome. */
  count(outcome: string): Promise<number>;
}

/** A delivery worker on a fresh prefix, its queue, a log sink and metrics; all closed and removed after the test. */
async function setup(t: TestContext, policy: DeliveryPolicy = {}): Promise<Setup> {
  const prefix = testPrefix();
  const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const queue = new Queue(WEBHOOK_QUEUE, { connection, prefix });
  const stream = new PassThrough();
  const lines: LogLine[] = [];
  const watchers: Array<{ test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  createInterface({ input: stream }).on('line', (text) => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    for (const w of watchers.filter((w) => w.test(line))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve(line);
    }
  });
  const logger = createLogger({ level: 'debug', service: 'test-webhooks', destination: stream });
  const metrics = createMetrics({ defaultMetrics: false });
  const worker = await startDeliveryWorker({
    connection,
    prefix,
    concurrency: 4,
    logger,
    metrics,
    // Tiny backoff so retries come at once; 127.0.0.1 is where the receivers listen.
    policy: { backoffBaseMs: 10, backoffMaxMs: 10, jitter: 0, allow: ['127.0.0.1'], ...policy },
  });
  t.after(async () => {
    await worker.close();
    await queue.close();
    await cleanupPrefix(redis, prefix);
    await connection.quit();
  });
  return {
    prefix,
    queue,
    metrics,
    logged(text, where = () => true) {
      const test = (l: LogLine) => typeof l.msg === 'string' && l.msg.includes(text) && where(l);
      const seen = lines.find(test);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => watchers.push({ test, resolve }));
    },
    async count(outcome) {
      const { values } = await metrics.webhookDeliveries.get();
      return values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    },
  };
}

let jobs = 0;
function completed(tenant?: string): JobRecord {
  const t = Date.now();
  const record: JobRecord = {
    id: `churn.j${++jobs}`,
    status: 'completed',
    finishedAt: new Date(t).toISOString(),
    result: {
      model: 'churn',
      version: '3',
      rows: [{ label: 'yes', score: 0.9, scores: { no: 0.1, yes: 0.9 } }],
      batch: { id: 'b1', rows: 1, jobs: 1, reason: 'single' },
      timings: {
        enqueuedAt: t,
        receivedAt: t,
        dispatchedAt: t,
        inferenceStartedAt: t,
        inferenceEndedAt: t,
        settledAt: t,
        queuedMs: 0,
        batchWaitMs: 0,
        poolWaitMs: 0,
        inferenceMs: 0,
        totalMs: 0,
      },
    },
  };
  return tenant === undefined ? record : { ...record, tenant };
}

function failed(): JobRecord {
  return {
    id: `churn.j${++jobs}`,
    status: 'failed',
    model: 'churn',
    error: { code: 'INVALID_INPUT', message: 'rows[0].age: expected a number' },
    finishedAt: new Date().toISOString(),
  };
}

/** Verifies a request the way a receiver would, with the standardwebhooks package; returns the parsed body. */
async function verify(s: Setup, tenant: string, r: Received): Promise<unknown> {
  const secret = await getWebhookSecret(redis, s.prefix, tenant);
  const headers = {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
  return new Webhook(secret).verify(r.body, headers);
}

// ---------------------------------------------------------------- tests

test(
  'a finished job gets one POST, signed with its tenant secret so standardwebhooks verifies it, with the job result',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const s = await setup(t);
    const hook = await receiver(t, () => 204);
    const record = completed('acme');
    await createWebhookNotifier({ queue: s.queue })(record, { callbackUrl: hook.url, tenant: 'acme' });

    const r = await hook.request(0);
    assert.deepEqual(await verify(s, 'acme', r), payloadOf(record));
    assert.equal(r.headers['content-type'], 'application/json');
    assert.match(String(r.headers['webhook-id']), /^msg_[0-9a-f]{32}$/);
    assert.match(String(r.headers['webhook-signature']), /^v1,/);
    const line = await s.logged('webhook delivered');
    assert.equal(line.jobId, record.id);
    assert.equal(line.url, new URL(hook.url).origin, 'logs show the origin, never the token in the query');
    assert.equal(await s.count('delivered'), 1);
    assert.equal(hook.requests.length, 1);
  },
);

test('a failed job without a tenant is signed with the default tenant secret and carries its error', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  const hook = await receiver(t, () => 200);
  const record = failed();
  await enqueueDelivery(s.queue, record, { callbackUrl: hook.url });

  const body = (await verify(s, 'default', await hook.request(0))) as { type: string; error: unknown };
  assert.equal(body.type, 'job.failed');
  assert.deepEqual(body.error, { code: 'INVALID_INPUT', message: 'rows[0].age: expected a number' });
});

test('a 500 is retried with the same webhook-id and then delivered', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  const hook = await receiver(t, (n) => (n === 0 ? 500 : 200));
  const id = await enqueueDelivery(s.queue, completed(), { callbackUrl: hook.url });

  const [first, second] = [await hook.request(0), await hook.request(1)];
  assert.equal(first.headers['webhook-id'], id);
  assert.equal(second.headers['webhook-id'], id);
  assert.ok(await verify(s, 'default', second));
  const retry = await s.logged('will retry');
  assert.deepEqual([retry.attempt, retry.reason], [1, 'HTTP 500']);
  assert.equal((await s.logged('webhook delivered')).attempt, 2);
  assert.deepEqual([await s.count('retry'), await s.count('delivered')], [1, 1]);
});

test('a 410 stops delivery: no retry and no dead letter', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  const hook = await receiver(t, () => 410);
  await enqueueDelivery(s.queue, completed(), { callbackUrl: hook.url });

  await s.logged('receiver is gone');
  assert.equal(hook.requests.length, 1);
  assert.deepEqual(await listDeadLetters({ redis, prefix: s.prefix }), []);
  assert.deepEqual([await s.count('gone'), await s.count('retry')], [1, 0]);
});

test('an attempt that gets no response within the timeout is retried', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const s = await setup(t, { timeoutMs: 300 });
  const hook = await receiver(t, (n) => (n === 0 ? 'hang' : 200));
  await enqueueDelivery(s.queue, completed(), { callbackUrl: hook.url });

  const retry = await s.logged('will retry');
  assert.equal(retry.reason, 'no response within 300 ms');
  assert.equal((await s.logged('webhook delivered')).attempt, 2);
  assert.equal(hook.requests.length, 2);
});

test('after max attempts a delivery is dead-lettered, listed, and a replay delivers it with the same webhook-id', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const s = await setup(t, { maxAttempts: 3 });
  let healthy = false;
  const hook = await receiver(t, () => (healthy ? 200 : 503));
  const record = completed('acme');
  const id = await enqueueDelivery(s.queue, record, { callbackUrl: hook.url, tenant: 'acme' });

  await s.logged('attempts exhausted');
  assert.equal(hook.requests.length, 3);
  const [letter, ...others] = await listDeadLetters({ redis, prefix: s.prefix });
  assert.equal(others.length, 0);
  assert.ok(letter);
  assert.deepEqual(
    [letter.id, letter.outcome, letter.attempts, letter.lastStatus, letter.lastError, letter.tenant, letter.callbackUrl],
    [id, 'dead', 3, 503, 'HTTP 503', 'acme', hook.url],
  );
  assert.deepEqual(letter.payload, payloadOf(record));
  assert.deepEqual([await s.count('retry'), await s.count('dead')], [2, 1]);

  healthy = true;
  const replayed = await replayDeadLetter({ redis, prefix: s.prefix, queue: s.queue }, id);
  assert.equal(replayed.id, id);
  const r = await hook.request(3);
  assert.equal(r.headers['webhook-id'], id);
  assert.deepEqual(await verify(s, 'acme', r), payloadOf(record));
  await s.logged('webhook delivered');
  assert.deepEqual(await listDeadLetters({ redis, prefix: s.prefix }), []);
  await assert.rejects(replayDeadLetter({ redis, prefix: s.prefix, queue: s.queue }, id), { code: 'DEAD_LETTER_NOT_FOUND' });
});

test('a redirect is not followed: the delivery is refused and dead-lettered', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  const target = await receiver(t, () => 200);
  const hook = await receiver(t, () => ({ status: 302, headers: { location: target.url } }));
  await enqueueDelivery(s.queue, completed(), { callbackUrl: hook.url });

  const line = await s.logged('webhook refused');
  assert.match(String(line.reason), /HTTP 302 redirect to http:\/\/127\.0\.0\.1:\d+ \(redirects are not followed\)/);
  assert.equal(hook.requests.length, 1);
  assert.equal(target.requests.length, 0);
  const [letter] = await listDeadLetters({ redis, prefix: s.prefix });
  assert.deepEqual([letter?.outcome, letter?.lastStatus, letter?.attempts], ['refused', 302, 1]);
  assert.equal(await s.count('refused'), 1);
});

test('a callback to a private address is refused at delivery when not allowlisted, by address and by name', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const s = await setup(t, { allow: [] });
  const hook = await receiver(t, () => 200);
  const byName = hook.url.replace('127.0.0.1', 'localhost');
  const literal = await enqueueDelivery(s.queue, completed(), { callbackUrl: hook.url });
  const named = await enqueueDelivery(s.queue, completed(), { callbackUrl: byName });

  const a = await s.logged('webhook refused', (l) => l.webhookId === literal);
  const b = await s.logged('webhook refused', (l) => l.webhookId === named);
  assert.match(String(a.reason), /127\.0\.0\.1 is a loopback address/);
  assert.match(String(b.reason), /localhost resolves to .* loopback address/);
  assert.equal(hook.requests.length, 0, 'nothing reached the receiver');
  const letters = await listDeadLetters({ redis, prefix: s.prefix });
  assert.deepEqual(
    letters.map((l) => [l.outcome, l.attempts]),
    [
      ['refused', 1],
      ['refused', 1],
    ],
  );
  assert.equal(await s.count('refused'), 2);
});

test('a host name that resolves to an allowlisted address is delivered through the guarded lookup', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // localhost may resolve to ::1 as well; both loopbacks are allowed here.
  const s = await setup(t, { allow: ['127.0.0.1', '::1'] });
  const hook = await receiver(t, () => 200);
  await enqueueDelivery(s.queue, completed(), { callbackUrl: hook.url.replace('127.0.0.1', 'localhost') });

  assert.ok(await verify(s, 'default', await hook.request(0)));
  await s.logged('webhook delivered');
});
