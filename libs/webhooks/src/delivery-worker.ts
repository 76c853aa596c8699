import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { WEBHOOK_QUEUE } from '@scoreq/contracts';
import { pushDeadLetter, type DeadLetter } from './dead-letters.js';
import { DELIVERY_JOB, type DeliveryJobData } from './enqueue.js';
import { HttpSender, type SendResult } from './http-sender.js';
import { resolvePolicy, retryDelay, type DeliveryWorkerOptions } from './options.js';
import { getWebhookSecret } from './secrets.js';
import { signatureHeaders } from './signing.js';
import { urlOrigin } from './ssrf.js';

/** Value of the `outcome` label of `scoreq_webhook_deliveries_total`: one per attempt. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'dead' | 'gone' | 'refused';

/** A running delivery worker. */
export interface DeliveryWorker {
  /** Stops taking deliveries, waits for those in flight (each bounded by the attempt timeout), closes its sockets. Idempotent. */
  close(): Promise<void>;
}

/** A failed attempt that BullMQ should retry (already logged and counted). */
class AttemptFailed extends Error {
  override readonly name = 'AttemptFailed';
}

/** How an attempt's result is judged. */
interface Verdict {
  outcome: DeliveryOutcome;
  /** Why it did not deliver (absent when delivered). */
  reason?: string;
  status?: number;
}

/**
 * Judges one attempt: 2xx delivered; 410 gone (the receiver asked us to stop: no retry, no
 * dead letter); a redirect or an SSRF refusal refused (retrying cannot help: dead-lettered
 * at once); anything else retried until the last attempt, then dead.
 */
function judge(result: SendResult, final: boolean, timeoutMs: number): Verdict {
  const failed = final ? 'dead' : 'retry';
  if (result.kind === 'refused') return { outcome: 'refused', reason: result.message };
  if (result.kind === 'error') return { outcome: failed, reason: result.timedOut ? `no response within ${timeoutMs} ms` : result.message };
  const { status } = result;
  if (status >= 200 && status < 300) return { outcome: 'delivered', status };
  if (status === 410) return { outcome: 'gone', status, reason: 'HTTP 410 Gone' };
  if (status >= 300 && status < 400) {
    const to = result.location === undefined ? 'nowhere' : URL.canParse(result.location) ? urlOrigin(result.location) : 'a relative location';
    return { outcome: 'refused', status, reason: `HTTP ${status} redirect to ${to} (redirects are not followed)` };
  }
  return { outcome: failed, status, reason: `HTTP ${status}` };
}

function parseJobData(raw: unknown): DeliveryJobData {
  const data = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<DeliveryJobData>;
  const ok =
    [data.messageId, data.callbackUrl, data.tenant, data.createdAt].every((v) => typeof v === 'string') &&
    typeof data.payload === 'object' &&
    data.payload !== null;
  if (!ok) throw new UnrecoverableError('webhook delivery job data needs messageId, callbackUrl, tenant, payload and createdAt');
  return data as DeliveryJobData;
}

/**
 * Starts a BullMQ worker on WEBHOOK_QUEUE that POSTs each message, signed the Standard
 * Webhooks way with its tenant's secret, and retries on the policy's schedule (a custom
 * BullMQ backoff). A delivery that never succeeds is pushed to the dead-letter list.
 * Each attempt is logged and counted in `scoreq_webhook_deliveries_total{outcome}`.
 * Resolves once the worker is consuming.
 *
 * @throws ScoreqError `INVALID_OPTION` naming a bad option.
 */
export async function startDeliveryWorker(options: DeliveryWorkerOptions): Promise<DeliveryWorker> {
  const policy = resolvePolicy(options.concurrency, options.policy);
  const { connection, prefix, logger, metrics } = options;
  const sender = new HttpSender({ allow: policy.allow, timeoutMs: policy.timeoutMs, maxSockets: policy.concurrency });
  const store = { redis: connection, prefix };

  const deliver = async (job: Job): Promise<DeliveryOutcome> => {
    const data = parseJobData(job.data);
    const attempt = job.attemptsMade + 1;
    const final = attempt >= policy.maxAttempts;
    const secret = await getWebhookSecret(connection, prefix, data.tenant);
    const body = JSON.stringify(data.payload);
    const started = performance.now();
    const result = await sender.post(data.callbackUrl, { ...signatureHeaders(secret, data.messageId, body) }, body);
    const verdict = judge(result, final, policy.timeoutMs);
    const line = {
      webhookId: data.messageId,
      // Job events name the job, run events the run.
      [data.payload.type.startsWith('run.') ? 'runId' : 'jobId']: data.payload.id,
      type: data.payload.type,
      tenant: data.tenant,
      url: urlOrigin(data.callbackUrl),
      attempt,
      outcome: verdict.outcome,
      status: verdict.status,
      ms: Math.round(performance.now() - started),
    };
    metrics.webhookDeliveries.inc({ outcome: verdict.outcome });
    if (verdict.outcome === 'delivered') {
      logger.info(line, 'webhook delivered');
      return verdict.outcome;
    }
    if (verdict.outcome === 'retry') {
      logger.warn({ ...line, reason: verdict.reason, nextAttempt: attempt + 1 }, 'webhook attempt failed; will retry');
      // BullMQ retries after our backoff strategy's delay.
      throw new AttemptFailed(verdict.reason ?? 'failed');
    }
    if (verdict.outcome === 'gone') {
      logger.warn({ ...line, reason: verdict.reason }, 'webhook receiver is gone; delivery stopped');
      return verdict.outcome;
    }
    const letter: DeadLetter = {
      ...data,
      id: data.messageId,
      outcome: verdict.outcome === 'refused' ? 'refused' : 'dead',
      attempts: attempt,
      lastError: verdict.reason ?? 'unknown',
      ...(verdict.status === undefined ? {} : { lastStatus: verdict.status }),
      deadAt: new Date().toISOString(),
    };
    await pushDeadLetter(store, letter, policy.deadLetterCap);
    logger.error(
      { ...line, reason: verdict.reason },
      verdict.outcome === 'refused' ? 'webhook refused; dead-lettered' : 'webhook attempts exhausted; dead-lettered',
    );
    return verdict.outcome;
  };

  const worker = new Worker<DeliveryJobData, DeliveryOutcome>(
    WEBHOOK_QUEUE,
    async (job) => {
      if (job.name !== DELIVERY_JOB) throw new UnrecoverableError(`unknown job ${job.name} on ${WEBHOOK_QUEUE}`);
      return deliver(job);
    },
    {
      connection,
      prefix,
      concurrency: policy.concurrency,
      // A delivery holds its lock for at most one attempt's timeout; keep the lock longer.
      lockDuration: Math.max(30_000, policy.timeoutMs + 15_000),
      settings: { backoffStrategy: (failedAttempts: number) => retryDelay(failedAttempts, policy) },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    },
  );
  worker.on('error', (err) => logger.error({ err }, 'webhook delivery worker error'));
  worker.on('failed', (job, err) => {
    // Failed attempts are logged where they are judged; what else fails is our own machinery (Redis, bad job data).
    if (!(err instanceof AttemptFailed)) logger.error({ jobId: job?.id, err }, 'webhook delivery job failed before or after its attempt');
  });

  const close = memoise(async () => {
    await worker.close().catch((err: unknown) => logger.error({ err }, 'webhook delivery worker close failed'));
    sender.close();
  });
  try {
    await worker.waitUntilReady();
  } catch (err) {
    await close();
    throw err;
  }
  logger.info(
    { concurrency: policy.concurrency, maxAttempts: policy.maxAttempts, timeoutMs: policy.timeoutMs, allow: policy.allow.entries },
    'webhook delivery worker ready',
  );
  return { close };
}

function memoise(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
