/**
 * `@scoreq/client` — the producer SDK. Validates scoring jobs against the model catalogue
 * workers publish in Redis, enqueues them on BullMQ queue `score-<model>`, and reads, awaits
 * or cancels their outcome. Every error is a ScoreqError from `@scoreq/contracts`: branch on
 * `code`.
 *
 * @example
 * ```ts
 * import { ScoringClient } from '@scoreq/client';
 *
 * const client = new ScoringClient({ connection: 'redis://127.0.0.1:6379' });
 * const id = await client.submit('churn', { rows: [{ age: 41, income: 52000 }] }, {
 *   idempotencyKey: 'order-1234', // a retried request returns the same id and adds nothing
 *   deadline: Date.now() + 2_000, // absolute: not scored after this instant
 * });
 * try {
 *   const result = await client.waitForResult(id, { timeoutMs: 5_000 });
 *   console.log(result.rows?.[0]?.label, result.timings.totalMs);
 * } catch (err) {
 *   if ((err as { code?: string }).code === 'WAIT_TIMEOUT') console.log(await client.getStatus(id));
 *   else throw err;
 * }
 * await client.close();
 * ```
 *
 * @packageDocumentation
 */
export { ScoringClient } from './scoring-client.js';
export type { JobStatusInfo } from './scoring-client.js';
export { CLIENT_DEFAULTS } from './options.js';
export type { ClientOptions, ConnectionInput, ResolvedClientOptions, SubmitDefaults, SubmitManyOptions, SubmitOptions, WaitOptions } from './options.js';
export { parseJobId, makeJobId, assertIdempotencyKey, assertAnyJobId } from './job-id.js';
export type { ParsedJobId } from './job-id.js';
export type { ScoreInput } from './job-builder.js';
export { SCORE_JOB_NAME } from './bullmq-factory.js';
export { RunsClient } from './runs-client.js';
export type { RunWaitOptions, RunsClientDeps } from './runs-client.js';
export { RUN_HEARTBEAT_MS, RUN_STATE_TTL_SEC, assertRunId, describeRun, parseRunState, runStateFields } from './run-state.js';
export type { RunFileFormat, RunInfo, RunState, RunStatus } from './run-state.js';
