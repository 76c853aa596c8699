/**
 * The one catalogue of scoreq errors. Every error that crosses a boundary (SDK, worker,
 * pool thread, HTTP, CLI) carries a stable string `code` from here; callers branch on the
 * code, never on `instanceof`, because errors that cross a thread or a Redis round trip
 * arrive as plain objects.
 */
export const ERROR_CODES = {
  INVALID_INPUT: {
    status: 400,
    retryable: false,
    description: 'The job input does not match the model signature (names the field).',
  },
  INVALID_OPTION: {
    status: 400,
    retryable: false,
    description: 'An option passed to a scoreq API has a wrong value (names the option).',
  },
  INVALID_MODEL_NAME: {
    status: 400,
    retryable: false,
    description: 'A model name has characters outside [A-Za-z0-9_-] or is too long.',
  },
  JOB_TOO_LARGE: {
    status: 413,
    retryable: false,
    description: 'A job has more rows than the configured maximum per job.',
  },
  INVALID_METADATA: {
    status: 400,
    retryable: false,
    description: 'Model metadata does not fit the model it describes (names the field).',
  },
  MODEL_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No model of that name is served.',
  },
  VERSION_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'The model has no such version or alias.',
  },
  JOB_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No job or result with that id exists (it may have expired).',
  },
  DEADLINE_EXCEEDED: {
    status: 504,
    retryable: false,
    description: "The job's deadline passed before its batch ran; no compute was spent.",
  },
  CANCELLED: {
    status: 409,
    retryable: false,
    description: 'The job was cancelled before it ran.',
  },
  CANCEL_TOO_LATE: {
    status: 409,
    retryable: false,
    description: 'The job is already running or finished and cannot be cancelled.',
  },
  WAIT_TIMEOUT: {
    status: 408,
    retryable: true,
    description: 'The job did not finish within the time the caller was willing to wait.',
  },
  MODEL_LOAD_FAILED: {
    status: 500,
    retryable: false,
    description: 'onnxruntime could not load the model file.',
  },
  INFERENCE_FAILED: {
    status: 500,
    retryable: false,
    description: 'onnxruntime rejected the batch or failed while running it.',
  },
  WORKER_SHUTTING_DOWN: {
    status: 503,
    retryable: true,
    description: 'The worker is draining and took no new work; the job is retried elsewhere.',
  },
  API_SHUTTING_DOWN: {
    status: 503,
    retryable: true,
    description: 'This API instance is shutting down and starts no new runs; retry on another instance.',
  },
  MODEL_INVALID: {
    status: 400,
    retryable: false,
    description:
      'A model file cannot be registered: empty, not an ONNX model onnxruntime can load, with non-tensor outputs, or with string or non-tensor inputs (the message says how to re-export or encode it).',
  },
  MODEL_TOO_LARGE: {
    status: 413,
    retryable: false,
    description: 'A model file is larger than the configured limit (SCOREQ_MAX_MODEL_BYTES).',
  },
  MODEL_CORRUPT: {
    status: 500,
    retryable: false,
    description: 'Model bytes do not match their sha256 (a corrupted store or cache); push the version again.',
  },
  MODEL_BYTES_MISSING: {
    status: 500,
    retryable: false,
    description: "The model store has no bytes for a registered version's sha256 (store and registry disagree).",
  },
  ALIAS_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'The model has no such alias, or the alias has no earlier target to roll back to.',
  },
  VERSION_IN_USE: {
    status: 409,
    retryable: false,
    description: 'A version an alias points at cannot be deleted (names the aliases).',
  },
  VALIDATION_FAILED: {
    status: 422,
    retryable: false,
    description: 'A model version failed validation, so no alias was moved (lists the problems).',
  },
  REGISTRY_CONFLICT: {
    status: 503,
    retryable: true,
    description: 'A registry change kept conflicting with concurrent changes and was given up; nothing was changed.',
  },
  UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    description: 'The request carries no API key, a malformed or unknown one, or a revoked one.',
  },
  FORBIDDEN: {
    status: 403,
    retryable: false,
    description: 'The API key lacks the scope the route needs (submit, read or admin).',
  },
  RATE_LIMITED: {
    status: 429,
    retryable: true,
    description:
      'The API key made more requests this minute than SCOREQ_RATE_LIMIT_PER_MIN allows, or the client address sent more requests without a valid key than SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN allows; retry after Retry-After seconds.',
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No HTTP route has that method and path.',
  },
  BODY_TOO_LARGE: {
    status: 413,
    retryable: false,
    description: 'The request body is larger than the route accepts (SCOREQ_BODY_LIMIT_BYTES, or SCOREQ_MAX_MODEL_BYTES for uploads).',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    description: 'The request body has a Content-Type the route does not take.',
  },
  CONFIG_INVALID: {
    status: 500,
    retryable: false,
    description: 'An environment variable or configuration value is invalid (names it).',
  },
  REDIS_UNAVAILABLE: {
    status: 503,
    retryable: true,
    description: 'Redis could not be reached.',
  },
  CALLBACK_URL_REFUSED: {
    status: 400,
    retryable: false,
    description:
      'A webhook callback URL is not http(s), or its host is (or resolves to) a private, loopback, link-local or cloud-metadata address that SCOREQ_WEBHOOK_ALLOW does not permit.',
  },
  DEAD_LETTER_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No dead-lettered webhook delivery has that id (it was replayed already, or trimmed from the list).',
  },
  WEBHOOK_ENDPOINT_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'The tenant has registered no webhook endpoint (PUT /v1/webhooks/endpoint or scoreq webhooks endpoint <tenant> <url> sets one).',
  },
  RUN_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No run with that id exists for this tenant (its state may have expired).',
  },
  RUN_NOT_FINISHED: {
    status: 409,
    retryable: true,
    description: "The run's files are not ready: its output is served once it has completed, its rejects once it has ended.",
  },
  RUN_EXISTS: {
    status: 409,
    retryable: false,
    description: 'A run with that id exists already and cannot be started again this way (choose another id, or resume it with the same files).',
  },
  RUN_BUSY: {
    status: 409,
    retryable: true,
    description: 'Another live process produces that run now (wait for it, cancel it, or choose another id); details.holder names it.',
  },
  INVALID_PATH: {
    status: 400,
    retryable: false,
    description: 'A file path is absolute, leaves SCOREQ_RUNS_DIR (.., symbolic links) or names something that is not a regular file (names the field).',
  },
  INTERNAL: {
    status: 500,
    retryable: true,
    description: 'An unexpected error; the message says what happened.',
  },
} as const satisfies Record<string, { status: number; retryable: boolean; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The serialisable shape of an error, as stored in results and sent across threads. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** Structured context, e.g. `{ field: 'rows[3].age' }`. */
  details?: Record<string, unknown>;
}

export class ScoreqError extends Error {
  override readonly name = 'ScoreqError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.details = details;
  }

  /** HTTP status and retry policy of this error's code. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  toInfo(): ErrorInfo {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }

  static fromInfo(info: ErrorInfo): ScoreqError {
    return new ScoreqError(info.code, info.message, info.details);
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * Turns anything thrown into an ErrorInfo, keeping a code when the value carries a known one
 * (a ScoreqError, or a plain object that crossed a thread or Redis).
 */
export function toErrorInfo(err: unknown, fallback: ErrorCode = 'INTERNAL'): ErrorInfo {
  if (err instanceof ScoreqError) return err.toInfo();
  if (typeof err === 'object' && err !== null) {
    const { code, message, details } = err as { code?: unknown; message?: unknown; details?: unknown };
    const text = typeof message === 'string' ? message : String(err);
    const info: ErrorInfo = { code: isErrorCode(code) ? code : fallback, message: text };
    if (typeof details === 'object' && details !== null) info.details = details as Record<string, unknown>;
    return info;
  }
  return { code: fallback, message: String(err) };
}
