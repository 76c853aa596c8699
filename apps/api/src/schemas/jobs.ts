import { z } from 'zod';
import { DURATION } from '../duration.js';
import { featureRow, inputTensor, modelName, outputTensor, versionRef } from './common.js';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{1,100}$/;
const MAX_PRIORITY = 2_097_151;

const exactlyOne = (d: { rows?: unknown; tensors?: unknown }): boolean => (d.rows === undefined) !== (d.tensors === undefined);
const EXACTLY_ONE = { message: 'give exactly one of rows or tensors', path: ['rows'] };

/** Options shared by POST /v1/jobs and POST /v1/jobs:batch. */
const jobOptions = {
  model: modelName,
  version: versionRef.optional(),
  outputs: z.array(z.string().min(1).max(256)).min(1).optional().describe('Output tensors to return for tensor jobs; all when omitted'),
  callbackUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      'http(s) URL the result is POSTed to when the job finishes (Standard Webhooks signature); private, loopback and metadata addresses are refused (CALLBACK_URL_REFUSED) unless SCOREQ_WEBHOOK_ALLOW permits them',
    ),
  priority: z.number().int().min(1).max(MAX_PRIORITY).optional().describe('1 (highest) to 2097151; jobs without one run first'),
  deadline: z.number().positive().optional().describe('Epoch ms after which the job is not scored (fails with DEADLINE_EXCEEDED)'),
};

export const submitBody = z
  .object({
    ...jobOptions,
    rows: z.array(featureRow).min(1).optional().describe('Named feature rows'),
    tensors: z.array(inputTensor).min(1).optional().describe('Open Inference Protocol tensors, one per model input'),
    idempotencyKey: z
      .string()
      .regex(IDEMPOTENCY_KEY, '1-100 of [A-Za-z0-9_-]')
      .optional()
      .describe('A retried request with the same key (same tenant) returns the same id and adds nothing'),
  })
  .strict()
  .refine(exactlyOne, EXACTLY_ONE);

export const batchBody = z
  .object({
    ...jobOptions,
    inputs: z
      .array(
        z
          .object({ rows: z.array(featureRow).min(1).optional(), tensors: z.array(inputTensor).min(1).optional() })
          .strict()
          .refine(exactlyOne, EXACTLY_ONE),
      )
      .min(1)
      .max(1000)
      .describe('One input per job: { rows } or { tensors }'),
    idempotencyKeys: z.array(z.string().regex(IDEMPOTENCY_KEY, '1-100 of [A-Za-z0-9_-]')).optional().describe('One per input, all different'),
  })
  .strict();

export const waitQuery = z
  .object({
    wait: z
      .string()
      .regex(DURATION, 'a duration such as 500ms, 5s or 1m')
      .optional()
      .describe('Wait up to this long (capped by the server) for the result: 200 with it, else 202 with the status'),
  })
  .strict();

export const jobIdParams = z.object({ id: z.string().min(1).max(512).describe('Job id as POST /v1/jobs returned it') });

export const jobStatus = z.enum(['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled']);

const rowOutput = z.object({
  label: z.string().optional(),
  score: z.number().optional(),
  scores: z.record(z.string(), z.number()).optional(),
  value: z.number().optional(),
  outputs: z.record(z.string(), z.array(z.number())).optional(),
});

export const jobView = z
  .object({
    id: z.string(),
    status: jobStatus,
    model: z.string(),
    version: z.string().optional().describe('The exact version that scored the job; while pending, the version or alias asked for'),
    result: z.object({ rows: z.array(rowOutput).optional(), tensors: z.array(outputTensor).optional() }).optional(),
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).optional(),
    timings: z.record(z.string(), z.number()).optional().describe('Epoch ms of each stage and the spans between them (queuedMs, inferenceMs, totalMs, …)'),
    batch: z.object({ id: z.string(), rows: z.number(), jobs: z.number(), reason: z.string() }).optional(),
    finishedAt: z.string().optional(),
  })
  .describe('A job: its status, and its result or error once finished');

export const submitted = z.object({ id: z.string() });
export const pending = z.object({ id: z.string(), status: jobStatus });
export const submittedMany = z.object({ ids: z.array(z.string()) });

export type SubmitBody = z.infer<typeof submitBody>;
export type BatchBody = z.infer<typeof batchBody>;
export type JobView = z.infer<typeof jobView>;
