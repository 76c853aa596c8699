import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getWebhookEndpoint, listDeadLetters, removeWebhookEndpoint, replayDeadLetter, setWebhookEndpoint, urlOrigin, type DeadLetter } from '@scoreq/webhooks';
import { principalOf } from '../auth/auth-hook.js';
import type { ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import { AUTH_ERRORS, noQuery, v1Errors } from '../schemas/common.js';
import { deadLetterList, deadLetterParams, deadLettersQuery, endpointBody, endpointView, replayed, type DeadLetterView } from '../schemas/webhooks.js';

/** Dead letters listed when the request names no limit. */
const DEFAULT_LIST_LIMIT = 100;

/**
 * The tenant's webhooks over HTTP: its registered endpoint (PUT, GET, DELETE
 * /v1/webhooks/endpoint, admin scope, since the URL may carry a token) and its dead-lettered
 * deliveries (GET /v1/webhooks/dead-letters, read; POST …/:id/replay, submit). A tenant sees
 * and replays only its own letters; another tenant's id answers DEAD_LETTER_NOT_FOUND.
 */
export function webhookRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['webhooks'];
    const store = { redis: ctx.redis, prefix: ctx.options.config.SCOREQ_PREFIX };

    r.put('/v1/webhooks/endpoint', {
      config: { scope: 'admin' },
      schema: {
        summary: "Register the tenant's webhook endpoint",
        description:
          "Jobs of the tenant submitted without a callbackUrl get their job.completed / job.failed webhook POSTed here, signed with the tenant's secret. " +
          'Replaces an earlier endpoint; workers see the change within 5 s. The URL passes the SSRF guard (CALLBACK_URL_REFUSED otherwise).',
        tags,
        querystring: noQuery,
        body: endpointBody,
        response: { 200: endpointView, ...v1Errors(400, ...AUTH_ERRORS) },
      },
      handler: async (request) => {
        const { tenant } = principalOf(request);
        const url = await setWebhookEndpoint(store.redis, store.prefix, tenant, request.body.url, ctx.callbackAllow);
        return { tenant, url };
      },
    });

    r.get('/v1/webhooks/endpoint', {
      config: { scope: 'admin' },
      schema: {
        summary: "The tenant's webhook endpoint",
        tags,
        querystring: noQuery,
        response: { 200: endpointView, ...v1Errors(400, 404, ...AUTH_ERRORS) },
      },
      handler: async (request) => {
        const { tenant } = principalOf(request);
        const url = await getWebhookEndpoint(store.redis, store.prefix, tenant);
        if (url === undefined) {
          throw apiError('WEBHOOK_ENDPOINT_NOT_FOUND', `tenant ${tenant} has no webhook endpoint; register one with PUT /v1/webhooks/endpoint { "url": … }`, {
            tenant,
          });
        }
        return { tenant, url };
      },
    });

    r.delete('/v1/webhooks/endpoint', {
      config: { scope: 'admin' },
      schema: {
        summary: "Remove the tenant's webhook endpoint",
        description: 'Jobs without a callbackUrl get no webhook from then on (workers see the change within 5 s). 204 whether or not there was one.',
        tags,
        querystring: noQuery,
        response: { 204: z.null().describe('Removed (no body)'), ...v1Errors(400, ...AUTH_ERRORS) },
      },
      handler: async (request, reply) => {
        await removeWebhookEndpoint(store.redis, store.prefix, principalOf(request).tenant);
        return reply.code(204).send(null);
      },
    });

    r.get('/v1/webhooks/dead-letters', {
      config: { scope: 'read' },
      schema: {
        summary: "The tenant's dead-lettered webhook deliveries, newest first",
        description:
          'Deliveries given up after their last attempt, or refused (SSRF guard, redirect). Replay one with POST /v1/webhooks/dead-letters/:id/replay.',
        tags,
        querystring: deadLettersQuery,
        response: { 200: deadLetterList, ...v1Errors(400, ...AUTH_ERRORS) },
      },
      handler: async (request) => {
        const letters = await listDeadLetters(store, { tenant: principalOf(request).tenant, limit: request.query.limit ?? DEFAULT_LIST_LIMIT });
        return { deadLetters: letters.map(letterView) };
      },
    });

    r.post('/v1/webhooks/dead-letters/:id/replay', {
      config: { scope: 'submit' },
      schema: {
        summary: 'Deliver a dead-lettered webhook again',
        description:
          'Takes the letter off the list and queues it with fresh attempts; it keeps its webhook-id, so a receiver can drop a duplicate. ' +
          "202 with the letter; 404 DEAD_LETTER_NOT_FOUND when the tenant has no letter with that id (replayed already, trimmed, or another tenant's).",
        tags,
        params: deadLetterParams,
        querystring: noQuery,
        response: { 202: replayed, ...v1Errors(400, 404, ...AUTH_ERRORS) },
      },
      handler: async (request, reply) => {
        const letter = await replayDeadLetter({ ...store, queue: ctx.queues.webhooks() }, request.params.id, { tenant: principalOf(request).tenant });
        return reply.code(202).send({ deadLetter: letterView(letter) });
      },
    });
  };
}

/** A dead letter as the API shows it: the callback's origin only (its path or query may hold a token). */
function letterView(letter: DeadLetter): DeadLetterView {
  return {
    id: letter.id,
    type: letter.payload.type,
    subject: letter.payload.id,
    callback: urlOrigin(letter.callbackUrl),
    outcome: letter.outcome,
    attempts: letter.attempts,
    lastError: letter.lastError,
    ...(letter.lastStatus === undefined ? {} : { lastStatus: letter.lastStatus }),
    createdAt: letter.createdAt,
    deadAt: letter.deadAt,
    payload: { ...letter.payload },
  };
}
