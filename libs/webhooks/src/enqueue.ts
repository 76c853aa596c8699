import type { JobsOptions, Queue } from 'bullmq';
import { DEFAULT_TENANT, type JobRecord } from '@scoreq/contracts';
import { ATTEMPTS_CEILING } from './options.js';
import { payloadOf, type WebhookPayload } from './payload.js';
import { runPayloadOf, type FinishedRun, type RunWebhookPayload } from './run-payload.js';
import { outcomeMessageId } from './signing.js';

/** Name of the BullMQ backoff type the delivery worker implements. */
export const BACKOFF_TYPE = 'webhook';

/** BullMQ job name of a delivery. */
export const DELIVERY_JOB = 'deliver';

/** What one job on WEBHOOK_QUEUE carries: one message to one URL. */
export interface DeliveryJobData {
  /** `webhook-id`: the same for every attempt and every replay of this message. */
  messageId: string;
  callbackUrl: string;
  /** Whose secret signs the message. */
  tenant: string;
  payload: WebhookPayload | RunWebhookPayload;
  /** ISO 8601 time the message was first enqueued. */
  createdAt: string;
}

/** Where a job asked to be told, as the worker's `onFinished` receives it. */
export interface NotifyTarget {
  callbackUrl: string;
  /** Whose secret signs the webhook. @defaultValue the record's tenant, else `default` */
  tenant?: string;
}

/**
 * Options of every delivery job: attempts up to the ceiling (the delivery worker's policy
 * decides when to stop and dead-letter), our backoff, and removal so finished deliveries
 * do not fill Redis (STACK-NOTES trap 8).
 */
export function deliveryJobOptions(jobId: string): JobsOptions {
  return {
    jobId,
    attempts: ATTEMPTS_CEILING,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/** Puts a prepared message on the delivery queue under BullMQ job id `jobId`. */
export async function addDelivery(queue: Queue, data: DeliveryJobData, jobId: string = data.messageId): Promise<void> {
  await queue.add(DELIVERY_JOB, data, deliveryJobOptions(jobId));
}

/**
 * Queues the webhook of a job's final record for delivery to `target.callbackUrl` and
 * returns its message id (`webhook-id`). Only Redis is touched: the POST happens in the
 * delivery worker, so a slow or dead receiver never slows scoring. The URL was checked at
 * submit time and is checked again at each attempt.
 */
export async function enqueueDelivery(queue: Queue, record: JobRecord, target: NotifyTarget): Promise<string> {
  const tenant = target.tenant || record.tenant || DEFAULT_TENANT;
  const data: DeliveryJobData = {
    messageId: outcomeMessageId(record.id, record.status),
    callbackUrl: target.callbackUrl,
    tenant,
    payload: payloadOf(record),
    createdAt: new Date().toISOString(),
  };
  await addDelivery(queue, data);
  return data.messageId;
}

/** The shape of the scoring worker's `ProcessorDeps.onFinished`. */
export type OnFinished = (record: JobRecord, notify: NotifyTarget) => Promise<void>;

/**
 * The scoring worker's `onFinished` hook: queues the webhook of each finished job that has a
 * callback URL on `queue` (a BullMQ Queue of WEBHOOK_QUEUE on the worker's prefix).
 */
export function createWebhookNotifier(options: { queue: Queue }): OnFinished {
  const { queue } = options;
  return async (record, notify) => {
    await enqueueDelivery(queue, record, notify);
  };
}

/**
 * Queues the webhook of an ended run for delivery to its `callbackUrl` (signed with its
 * tenant's secret) and returns its message id. The id is derived from the run and how and when
 * it ended, so queueing one finish twice delivers it once.
 */
export async function enqueueRunDelivery(queue: Queue, run: FinishedRun & { callbackUrl: string }): Promise<string> {
  const payload = runPayloadOf(run);
  const data: DeliveryJobData = {
    messageId: outcomeMessageId(`run:${run.id}`, `${payload.status}:${payload.finishedAt}`),
    callbackUrl: run.callbackUrl,
    tenant: run.tenant || DEFAULT_TENANT,
    payload,
    createdAt: new Date().toISOString(),
  };
  await addDelivery(queue, data);
  return data.messageId;
}

/**
 * The `onFinished` hook of a run (`startRun`, `announceRunFinished` in `@scoreq/runs`): queues
 * the run's webhook on `queue` (a BullMQ Queue of WEBHOOK_QUEUE on the run's prefix) when the
 * run has a callback URL. The scoring workers' delivery worker sends it.
 */
export function createRunWebhookNotifier(options: { queue: Queue }): (run: FinishedRun) => Promise<void> {
  const { queue } = options;
  return async (run) => {
    if (run.callbackUrl !== undefined) await enqueueRunDelivery(queue, { ...run, callbackUrl: run.callbackUrl });
  };
}
