import { z } from 'zod';

export const endpointBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .describe(
        "http(s) URL that receives the webhooks of the tenant's jobs submitted without a callbackUrl; private, loopback and metadata addresses are refused (CALLBACK_URL_REFUSED) unless SCOREQ_WEBHOOK_ALLOW permits them",
      ),
  })
  .strict();

export const endpointView = z
  .object({
    tenant: z.string(),
    url: z.string().describe("Where the webhooks of the tenant's jobs without a callbackUrl go"),
  })
  .describe("The tenant's registered webhook endpoint");

export const deadLettersQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(10_000).optional().describe('At most this many, newest first (default 100)'),
  })
  .strict();

export const deadLetterParams = z.object({ id: z.string().min(1).max(128).describe('Dead letter id (msg_…), as GET /v1/webhooks/dead-letters lists it') });

export const deadLetterView = z
  .object({
    id: z.string().describe('The message id (webhook-id); replay with POST /v1/webhooks/dead-letters/:id/replay'),
    type: z.string().describe('job.completed, job.failed, run.completed, run.failed or run.cancelled'),
    subject: z.string().describe('The job or run id the webhook is about'),
    callback: z.string().describe('Origin of the callback URL (its path and query are not shown: they may hold a token)'),
    outcome: z.enum(['dead', 'refused']).describe('dead: every attempt failed; refused: the SSRF guard refused the URL, or the receiver redirected'),
    attempts: z.number(),
    lastError: z.string().describe('Why the last attempt failed: "HTTP 500", "no response within 15000 ms", …'),
    lastStatus: z.number().optional().describe('HTTP status of the last attempt, when the receiver answered'),
    createdAt: z.string().describe('ISO 8601 time the message was first queued'),
    deadAt: z.string().describe('ISO 8601 time it was given up'),
    payload: z.record(z.string(), z.unknown()).describe('The webhook body, as it is delivered again on replay'),
  })
  .describe('A webhook delivery that was given up');

export const deadLetterList = z.object({ deadLetters: z.array(deadLetterView) });

export const replayed = z
  .object({ deadLetter: deadLetterView })
  .describe('The dead letter, taken off the list and queued for delivery again (same webhook-id, fresh attempts)');

export type EndpointBody = z.infer<typeof endpointBody>;
export type DeadLetterView = z.infer<typeof deadLetterView>;
