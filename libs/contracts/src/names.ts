import { ScoreqError } from './errors.js';

/** The model-name rule (see {@link assertModelName}); schemas that document it use its `source`. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * The rule for tenants that API keys and runs are created for: 1-128 letters, digits, '_',
 * '.' or '-', starting with a letter or digit. (Jobs may carry any tenant string of up to
 * 128 characters; webhooks accept those too.)
 */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The tenant of every request when the API runs without keys, and of jobs and runs that name none. */
export const DEFAULT_TENANT = 'default';

/** Whether `name` is a valid model name (see {@link assertModelName}). */
export function isModelName(name: unknown): name is string {
  return typeof name === 'string' && MODEL_NAME.test(name);
}

/**
 * Refuses model names that would break a queue name (BullMQ forbids `:`), a Redis key or a
 * file path: only letters, digits, `_` and `-`, starting with a letter or digit, 64 at most.
 */
export function assertModelName(name: unknown): asserts name is string {
  if (!isModelName(name)) {
    throw new ScoreqError(
      'INVALID_MODEL_NAME',
      `model name ${JSON.stringify(name)} is invalid: use 1-64 letters, digits, '_' or '-', starting with a letter or digit`,
      { field: 'model' },
    );
  }
}

const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Refuses alias names a job could not use as a version reference: an alias starts with a
 * letter (all-digit references are version numbers), has only letters, digits, `_` and `-`,
 * 64 at most, and is not `latest` (which always means the newest version).
 */
export function assertAliasName(alias: unknown): asserts alias is string {
  if (typeof alias !== 'string' || !ALIAS_NAME.test(alias) || alias === 'latest') {
    throw new ScoreqError(
      'INVALID_OPTION',
      `alias ${JSON.stringify(alias)} is invalid: use 1-64 letters, digits, '_' or '-', starting with a letter, and not 'latest'`,
      { field: 'alias' },
    );
  }
}

/** BullMQ queue that carries real-time jobs for a model. */
export function queueName(model: string): string {
  return `score-${model}`;
}

/** BullMQ queue that carries bulk (overnight run) chunks for a model. */
export function bulkQueueName(model: string): string {
  return `score-${model}-bulk`;
}

/** BullMQ queue of webhook deliveries: slow receivers never slow scoring. */
export const WEBHOOK_QUEUE = 'webhooks';

/**
 * Redis keys that scoreq owns besides BullMQ's own. All live under one prefix, so a test or
 * a tenant can own a namespace and remove exactly what it made.
 */
export function keys(prefix: string) {
  return {
    /** JSON {@link JobRecord} of a finished job, with the job's result TTL. */
    result: (jobId: string) => `${prefix}:result:${jobId}`,
    /** JSON {@link ModelRecord}: versions, signatures, metadata and aliases of a model. */
    model: (model: string) => `${prefix}:model:${model}`,
    /** Set of model names known to the catalogue. */
    models: () => `${prefix}:models`,
    /** JSON {@link ChunkResult} of a scored run chunk. */
    chunkResult: (jobId: string) => `${prefix}:chunk:${jobId}`,
    /**
     * Raw little-endian float32 rows of a run chunk (when its job has no `features`), with the
     * chunk's `resultTtlSec`; the worker deletes it once the chunk's result is stored.
     */
    chunkInput: (jobId: string) => `${prefix}:chunk-input:${jobId}`,
    /** Hash of a run's state (see libs/runs). */
    run: (runId: string) => `${prefix}:run:${runId}`,
    /** List of JSON {@link ModelAliasMove}s of a model, newest first (LPUSH). */
    modelHistory: (model: string) => `${prefix}:model-history:${model}`,
    /** Highest version number ever given to a model; never reused, even after deletions. */
    modelSeq: (model: string) => `${prefix}:model-seq:${model}`,
    /** Bytes of a model file, by sha256 (the Redis model store). */
    modelBlob: (sha256: string) => `${prefix}:model-blob:${sha256}`,
    /** Set of tokens of pushes storing these bytes until their version is recorded (expires); byte deletion skips them. */
    modelBytesPushing: (sha256: string) => `${prefix}:model-bytes-pushing:${sha256}`,
    /** Set of tokens of byte deletions checking these bytes (expires); pushes of them wait until it is gone. */
    modelBytesDeleting: (sha256: string) => `${prefix}:model-bytes-deleting:${sha256}`,
    /** Set of sha256s a byte deletion skipped while a push was storing them: the next deletion looks at them again. */
    modelBytesSkipped: () => `${prefix}:model-bytes-skipped`,
    /** Pub/sub channel of JSON {@link ModelEvent}s: one per change of a model record. */
    modelEvents: () => `${prefix}:model-events`,
    /** Hash of one API key: sha256 of its secret, tenant, scopes, created/revoked times. */
    apiKey: (id: string) => `${prefix}:api-key:${id}`,
    /** Set of API key ids. */
    apiKeys: () => `${prefix}:api-keys`,
    /** A tenant's webhook signing secret (`whsec_<base64>`). */
    webhookSecret: (tenant: string) => `${prefix}:webhook-secret:${tenant}`,
    /** List of JSON dead-lettered webhook deliveries, newest first. */
    webhookDeadLetters: () => `${prefix}:webhook-dead-letters`,
    /** URL a tenant registered for the webhooks of its jobs that name no callbackUrl. */
    webhookEndpoint: (tenant: string) => `${prefix}:webhook-endpoint:${tenant}`,
  };
}

/**
 * The id a job's result is stored and read under. Jobs the SDK submits already have ids of
 * the form `<model>.<suffix>`; a job added by another producer (BullMQ's own counter ids
 * such as "5" repeat across queues) gets its model put in front: `risk.5`.
 */
export function resultId(model: string, jobId: string): string {
  return jobId.startsWith(`${model}.`) ? jobId : `${model}.${jobId}`;
}
