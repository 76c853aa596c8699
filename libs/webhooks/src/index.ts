/**
 * Webhooks of finished jobs and runs: each job with a `callbackUrl` (or, without one, whose
 * tenant registered an endpoint: {@link setWebhookEndpoint}) gets a POST when it completes
 * or finally fails, each run when it completes, fails or is cancelled
 * ({@link createRunWebhookNotifier}, the `onFinished` of `startRun`), signed the Standard
 * Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
 * HMAC-SHA256>`) with its tenant's `whsec_` secret.
 * Deliveries ride their own BullMQ queue (WEBHOOK_QUEUE) so a slow receiver never slows
 * scoring; they are retried with exponential backoff and jitter, then dead-lettered, and can be replayed.
 * An SSRF guard refuses callbacks to private, loopback, link-local and metadata addresses at
 * submit time ({@link checkCallbackUrl}) and again at each attempt, unless allowlisted.
 *
 * @example
 * ```ts
 * import { Queue } from 'bullmq';
 * import { WEBHOOK_QUEUE, loadConfig } from '@scoreq/contracts';
 * import { checkCallbackUrl, createWebhookNotifier, deliveryOptionsFromConfig, startDeliveryWorker, WebhookEndpointCache } from '@scoreq/webhooks';
 *
 * const config = loadConfig();
 * // Producer side (SDK, API): refuse a bad URL before the job is queued.
 * await checkCallbackUrl(data.callbackUrl, config.SCOREQ_WEBHOOK_ALLOW);
 *
 * // Worker side: queue deliveries from the processor, deliver them in the same process.
 * const queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix: config.SCOREQ_PREFIX });
 * const onFinished = createWebhookNotifier({ queue }); // ProcessorDeps.onFinished
 * const endpoints = new WebhookEndpointCache({ redis, prefix: config.SCOREQ_PREFIX }); // ProcessorDeps.endpoints
 * const deliveries = await startDeliveryWorker({
 *   connection: blockingRedis, // maxRetriesPerRequest: null
 *   prefix: config.SCOREQ_PREFIX,
 *   logger,
 *   metrics,
 *   ...deliveryOptionsFromConfig(config),
 * });
 * // ... on shutdown, after the scoring workers have closed:
 * await deliveries.close();
 * await queue.close();
 * ```
 */
export { parseAllowlist } from './allowlist.js';
export type { Allowlist } from './allowlist.js';
export { addressRange, checkCallbackUrl, urlOrigin } from './ssrf.js';
export type { Resolver } from './ssrf.js';
export { generateSecret, sign, signatureHeaders, SECRET_PREFIX } from './signing.js';
export type { SignatureHeaders } from './signing.js';
export { getWebhookSecret, rotateWebhookSecret } from './secrets.js';
export { DEFAULT_TENANT } from '@scoreq/contracts';
export { payloadOf } from './payload.js';
export type { WebhookEventType, WebhookPayload } from './payload.js';
export { runPayloadOf } from './run-payload.js';
export type { FinishedRun, RunWebhookEventType, RunWebhookPayload } from './run-payload.js';
export { createRunWebhookNotifier, createWebhookNotifier, enqueueDelivery, enqueueRunDelivery } from './enqueue.js';
export type { DeliveryJobData, NotifyTarget, OnFinished } from './enqueue.js';
export { DELIVERY_DEFAULTS, deliveryOptionsFromConfig } from './options.js';
export type { DeliveryPolicy, DeliveryWorkerOptions } from './options.js';
export { startDeliveryWorker } from './delivery-worker.js';
export type { DeliveryOutcome, DeliveryWorker } from './delivery-worker.js';
export { listDeadLetters, replayDeadLetter } from './dead-letters.js';
export type { DeadLetter, DeadLetterQuery, DeadLetterStore } from './dead-letters.js';
export { getWebhookEndpoint, removeWebhookEndpoint, setWebhookEndpoint, WebhookEndpointCache } from './endpoints.js';
export type { EndpointCacheOptions } from './endpoints.js';
