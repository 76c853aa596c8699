import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ScoreqError } from '@scoreq/contracts';
import type { ScoreInput, SubmitManyOptions, SubmitOptions } from '@scoreq/client';
import { checkCallbackUrl } from '@scoreq/webhooks';
import { principalOf } from '../auth/auth-hook.js';
import type { ApiContext } from '../context.js';
import { durationMs } from '../duration.js';
import { checkFloat32Range } from '../input-checks.js';
import { jobView } from '../job-access.js';
import { AUTH_ERRORS, noQuery, v1Errors } from '../schemas/common.js';
import {
  batchBody,
  jobIdParams,
  jobView as jobViewSchema,
  pending,
  submitBody,
  submitted,
  submittedMany,
  waitQuery,
  type BatchBody,
  type JobView,
  type SubmitBody,
} from '../schemas/jobs.js';

/**
 * POST /v1/jobs (optionally waiting), POST /v1/jobs:batch, GET and DELETE /v1/jobs/:id. Jobs go
 * through the ScoringClient exactly as SDK jobs do: validated against the model signature
 * before anything is enqueued, stamped with the key's tenant.
 */
export function jobRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/jobs', {
      config: { scope: 'submit' },
      schema: {
        summary: 'Submit a scoring job',
        description:
          'Validates the input against the model signature and enqueues it: 202 with the id. ' +
          `With ?wait=5s the call waits (at most ${ctx.options.maxWaitMs} ms) and answers 200 with the finished job, or 202 with its status.`,
        tags: ['jobs'],
        querystring: waitQuery,
        body: submitBody,
        response: { 200: jobViewSchema, 202: submitted.or(pending), ...v1Errors(400, 404, 413, 415, ...AUTH_ERRORS) },
      },
      handler: async (request, reply) => {
        const { tenant } = principalOf(request);
        const body = request.body;
        if (body.tensors) checkFloat32Range(body.tensors, 'tensors');
        const input: ScoreInput = body.rows ? { rows: body.rows } : { tensors: body.tensors! };
        if (body.callbackUrl !== undefined) await checkCallbackUrl(body.callbackUrl, ctx.callbackAllow);
        const id = await ctx.client.submit(body.model, input, submitOptions(body, tenant));
        reply.header('location', `/v1/jobs/${id}`);
        const waitMs = request.query.wait === undefined ? 0 : Math.min(durationMs(request.query.wait), ctx.options.maxWaitMs);
        if (waitMs === 0) return reply.code(202).send({ id });
        const finished = await waitFor(ctx, id, waitMs, reply);
        if (finished) return reply.code(200).send(finished);
        const now = await ctx.jobs.find(id, tenant);
        if (now.record) return reply.code(200).send(jobView(now));
        return reply.code(202).send({ id, status: now.status });
      },
    });

    r.post('/v1/jobs::batch', {
      config: { scope: 'submit' },
      schema: {
        summary: 'Submit many jobs in one call',
        description: 'Validates every input, then enqueues them all; nothing is enqueued when one is refused (the error names inputs[i]).',
        tags: ['jobs'],
        querystring: noQuery,
        body: batchBody,
        response: { 202: submittedMany, ...v1Errors(400, 404, 413, 415, ...AUTH_ERRORS) },
      },
      handler: async (request, reply) => {
        const { tenant } = principalOf(request);
        const body = request.body;
        body.inputs.forEach((input, i) => {
          if (input.tensors) checkFloat32Range(input.tensors, `inputs[${i}].tensors`);
        });
        const inputs = body.inputs.map((input): ScoreInput => (input.rows ? { rows: input.rows } : { tensors: input.tensors! }));
        if (body.callbackUrl !== undefined) await checkCallbackUrl(body.callbackUrl, ctx.callbackAllow);
        const ids = await ctx.client.submitMany(body.model, inputs, submitManyOptions(body, tenant));
        return reply.code(202).send({ ids });
      },
    });

    r.get('/v1/jobs/:id', {
      config: { scope: 'read' },
      schema: {
        summary: 'A job: status, and result or error once finished',
        tags: ['jobs'],
        params: jobIdParams,
        querystring: noQuery,
        response: { 200: jobViewSchema, ...v1Errors(400, 404, ...AUTH_ERRORS) },
      },
      handler: async (request) => jobView(await ctx.jobs.find(request.params.id, principalOf(request).tenant)),
    });

    r.delete('/v1/jobs/:id', {
      config: { scope: 'submit' },
      schema: {
        summary: 'Cancel a job that has not started',
        description: 'Answers the cancelled job; 409 CANCEL_TOO_LATE once it runs or has finished.',
        tags: ['jobs'],
        params: jobIdParams,
        querystring: noQuery,
        response: { 200: jobViewSchema, ...v1Errors(400, 404, 409, ...AUTH_ERRORS) },
      },
      handler: async (request) => jobView(await ctx.jobs.cancel(request.params.id, principalOf(request).tenant)),
    });
  };
}

/**
 * Idempotency keys are scoped to the tenant: two tenants using the same key get different jobs
 * (and neither learns of the other's).
 */
function scopedKey(tenant: string, key: string): string {
  return `${createHash('sha256').update(tenant).digest('hex').slice(0, 12)}-${key}`;
}

function submitOptions(body: SubmitBody, tenant: string): SubmitOptions {
  const o: SubmitOptions = { tenant };
  if (body.version !== undefined) o.version = body.version;
  if (body.outputs !== undefined) o.outputs = body.outputs;
  if (body.callbackUrl !== undefined) o.callbackUrl = body.callbackUrl;
  if (body.priority !== undefined) o.priority = body.priority;
  if (body.deadline !== undefined) o.deadline = body.deadline;
  if (body.idempotencyKey !== undefined) o.idempotencyKey = scopedKey(tenant, body.idempotencyKey);
  return o;
}

function submitManyOptions(body: BatchBody, tenant: string): SubmitManyOptions {
  const o: SubmitManyOptions = { tenant };
  if (body.version !== undefined) o.version = body.version;
  if (body.outputs !== undefined) o.outputs = body.outputs;
  if (body.callbackUrl !== undefined) o.callbackUrl = body.callbackUrl;
  if (body.priority !== undefined) o.priority = body.priority;
  if (body.deadline !== undefined) o.deadline = body.deadline;
  if (body.idempotencyKeys !== undefined) o.idempotencyKeys = body.idempotencyKeys.map((k) => scopedKey(tenant, k));
  return o;
}

/**
 * Waits for a job the caller just submitted: its finished view, or undefined when `waitMs`
 * passed first. A failed or cancelled job is a finished job (200 with its error), not an HTTP
 * error. Stops waiting when the caller hangs up.
 */
async function waitFor(ctx: ApiContext, id: string, waitMs: number, reply: FastifyReply): Promise<JobView | undefined> {
  const abort = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) abort.abort(new ScoreqError('WAIT_TIMEOUT', 'the caller closed the connection'));
  };
  reply.raw.once('close', onClose);
  try {
    const result = await ctx.client.waitForResult(id, { timeoutMs: waitMs, signal: abort.signal });
    return jobView({
      id,
      status: 'completed',
      model: result.model,
      record: { id, status: 'completed', result, finishedAt: new Date(result.timings.settledAt).toISOString() },
    });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'WAIT_TIMEOUT') return undefined;
    // A job that failed or was cancelled has its record; anything else is an error of the wait.
    const record = await ctx.client.getResult(id);
    if (!record) throw err;
    return jobView({ id, status: record.status, model: record.status === 'completed' ? record.result.model : record.model, record });
  } finally {
    reply.raw.off('close', onClose);
  }
}
