import { resolve } from 'node:path';
import type { RedisOptions } from 'ioredis';
import { assertModelName, ScoreqError, TENANT_NAME } from '@scoreq/contracts';
import { assertRunId, type RunFileFormat, type RunInfo } from '@scoreq/client';

/** Options of {@link startRun}. Resolved and checked once, by {@link resolveRunOptions}. */
export interface RunOptions {
  /** Redis: a `redis://` URL or ioredis options. */
  connection: string | RedisOptions;
  /**
   * Key prefix of every Redis key (BullMQ's and scoreq's); must match the workers'.
   * @defaultValue 'scoreq'
   */
  prefix?: string;
  /** Model name, optionally with a version or alias: `churn`, `churn@3`, `churn@staging`. */
  model: string;
  /**
   * Version number or alias, resolved and pinned when the run starts (not with `model@ref`).
   * @defaultValue 'production' (the latest version when no such alias exists)
   */
  version?: string;
  /** Input file (`.csv`, `.jsonl`/`.ndjson`), or `-` for `inputStream` (standard input). */
  input: string;
  /** Where `-` reads from. @defaultValue process.stdin */
  inputStream?: AsyncIterable<Buffer | string>;
  /** @defaultValue from the input's extension; `csv` for `-` */
  inputFormat?: RunFileFormat;
  /** Output file, written in input order; `.csv` or `.jsonl`/`.ndjson`. */
  output: string;
  /** @defaultValue from the output's extension */
  outputFormat?: RunFileFormat;
  /** Where rejected rows go, as CSV `line,field,reason`. @defaultValue `<output>.rejects.csv` */
  rejects?: string;
  /** Run id (1-64 of [A-Za-z0-9_-]); the id of an unfinished run resumes it. @defaultValue a new id */
  id?: string;
  /** Valid rows per chunk, the unit enqueued and scored. @defaultValue 1024 */
  chunkRows?: number;
  /** Most chunks outstanding (enqueued, not yet written): bounds producer and Redis memory. @defaultValue 16 */
  window?: number;
  /** Input columns copied to the output in front of the predictions (an id or key). @defaultValue none */
  passThrough?: string[];
  /**
   * Where the run's webhook goes when it finishes; kept in the run state and passed to
   * `onFinished` (which sends it). Check it with `checkCallbackUrl` of `@scoreq/webhooks` first.
   * @defaultValue none
   */
  callbackUrl?: string;
  /**
   * Who starts the run (1-128 of [A-Za-z0-9_.-]): signs its webhook and, over HTTP, owns it.
   * A resumed run keeps its tenant. @defaultValue none (tenant `default`)
   */
  tenant?: string;
  /**
   * Called once when the run ends — completed, failed or cancelled — with its final state:
   * exactly once per finish across processes (a flag in the run state guards it), also when the
   * finish was seen by a resume or by `announceRunFinished`. `@scoreq/webhooks`'
   * `createRunWebhookNotifier` queues the run's webhook. When it throws, the flag is released
   * and `finished` rejects; starting the run again with its id retries it. @defaultValue none
   */
  onFinished?: RunFinishedHook;
  /**
   * Largest share of bad rows (rejected input rows and rows of failed chunks) the run accepts,
   * 0..1; past it the run stops as failed. @defaultValue 0.05
   */
  maxRejectRate?: number;
  /** Rows read before the share of bad rows is judged (it is always judged at the end). @defaultValue 1000 */
  minRowsForRejectRate?: number;
  /** Tries of each chunk job in all. @defaultValue 3 */
  attempts?: number;
  /** Seconds chunk results and failed chunk jobs are kept (a resume within it reuses them). @defaultValue 86400 */
  resultTtlSec?: number;
  /** Longest input line in characters; longer lines are rejected unread. @defaultValue 1048576 */
  maxLineLength?: number;
  /** Milliseconds between fallback reads of outstanding chunk results and of the run's status. @defaultValue 500 */
  pollMs?: number;
  /** Called after every chunk written, with the run's state and derived figures. */
  onProgress?: (info: RunInfo) => void;
  /** Receives errors of background connections. @defaultValue ignore them */
  onError?: (error: Error) => void;
}

/** {@link RunOptions} after defaults and checks. */
export interface ResolvedRunOptions {
  readonly connection: string | RedisOptions;
  readonly prefix: string;
  readonly model: string;
  readonly versionRef: string | undefined;
  readonly input: string;
  readonly inputStream: AsyncIterable<Buffer | string> | undefined;
  readonly inputFormat: RunFileFormat;
  readonly output: string;
  readonly outputFormat: RunFileFormat;
  readonly rejects: string;
  readonly id: string | undefined;
  readonly chunkRows: number;
  readonly window: number;
  readonly passThrough: readonly string[];
  readonly callbackUrl: string | undefined;
  readonly tenant: string | undefined;
  readonly onFinished: RunFinishedHook | undefined;
  readonly maxRejectRate: number;
  readonly minRowsForRejectRate: number;
  readonly attempts: number;
  readonly resultTtlSec: number;
  readonly maxLineLength: number;
  readonly pollMs: number;
  readonly onProgress: (info: RunInfo) => void;
  readonly onError: (error: Error) => void;
}

/** The one defaults object of runs. */
export const RUN_DEFAULTS = Object.freeze({
  prefix: 'scoreq',
  chunkRows: 1024,
  window: 16,
  maxRejectRate: 0.05,
  minRowsForRejectRate: 1000,
  attempts: 3,
  resultTtlSec: 86_400,
  maxLineLength: 1 << 20,
  pollMs: 500,
});

const KNOWN = new Set([
  'connection',
  'prefix',
  'model',
  'version',
  'input',
  'inputStream',
  'inputFormat',
  'output',
  'outputFormat',
  'rejects',
  'id',
  'chunkRows',
  'window',
  'passThrough',
  'callbackUrl',
  'tenant',
  'onFinished',
  'maxRejectRate',
  'minRowsForRejectRate',
  'attempts',
  'resultTtlSec',
  'maxLineLength',
  'pollMs',
  'onProgress',
  'onError',
]);
const PREFIX = /^[A-Za-z0-9_{}-]{1,64}$/;

/** Called once when a run ends, with its final state (see {@link RunOptions.onFinished}). */
export type RunFinishedHook = (info: RunInfo) => Promise<void>;

/** Applies defaults, checks every option (refusing a bad one by name) and freezes the result. */
export function resolveRunOptions(options: RunOptions): ResolvedRunOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object');
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw invalid(key, `is not an option (known: ${[...KNOWN].join(', ')})`);
  const o = options;
  if (typeof o.connection !== 'string' && (typeof o.connection !== 'object' || o.connection === null))
    throw invalid('connection', 'must be a Redis URL or ioredis options');
  const prefix = o.prefix ?? RUN_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) throw invalid('prefix', `must be 1-64 of [A-Za-z0-9_{}-], got ${JSON.stringify(prefix)}`);
  const { model, versionRef } = parseModelRef(o.model, o.version);
  if (typeof o.input !== 'string' || o.input === '') throw invalid('input', 'must be a file path or -');
  if (typeof o.output !== 'string' || o.output === '' || o.output === '-') throw invalid('output', 'must be a file path (a run writes a file it can resume)');
  const input = o.input === '-' ? '-' : resolve(o.input);
  const output = resolve(o.output);
  if (input === output) throw invalid('output', 'must differ from the input');
  const inputFormat = o.inputFormat ?? (input === '-' ? 'csv' : formatOf(input, 'input'));
  const outputFormat = o.outputFormat ?? formatOf(output, 'output');
  checkFormat(inputFormat, 'inputFormat');
  checkFormat(outputFormat, 'outputFormat');
  const rejects = resolve(o.rejects ?? `${output}.rejects.csv`);
  if (rejects === output || rejects === input) throw invalid('rejects', 'must differ from the input and the output');
  if (o.id !== undefined) assertRunId(o.id);
  const passThrough = o.passThrough ?? [];
  if (!Array.isArray(passThrough) || passThrough.some((c) => typeof c !== 'string' || c === '')) throw invalid('passThrough', 'must be a list of column names');
  if (new Set(passThrough).size !== passThrough.length) throw invalid('passThrough', 'names a column twice');
  if (o.callbackUrl !== undefined && !isHttpUrl(o.callbackUrl)) throw invalid('callbackUrl', `must be an http(s) URL, got ${JSON.stringify(o.callbackUrl)}`);
  const maxRejectRate = o.maxRejectRate ?? RUN_DEFAULTS.maxRejectRate;
  if (typeof maxRejectRate !== 'number' || !(maxRejectRate >= 0 && maxRejectRate <= 1))
    throw invalid('maxRejectRate', `must be a share from 0 to 1, got ${String(maxRejectRate)}`);
  if (o.tenant !== undefined && (typeof o.tenant !== 'string' || !TENANT_NAME.test(o.tenant)))
    throw invalid('tenant', `must be 1-128 of [A-Za-z0-9_.-] starting with a letter or digit, got ${JSON.stringify(o.tenant)}`);
  for (const fn of ['onProgress', 'onError', 'onFinished'] as const)
    if (o[fn] !== undefined && typeof o[fn] !== 'function') throw invalid(fn, 'must be a function');
  return Object.freeze({
    connection: o.connection,
    prefix,
    model,
    versionRef,
    input,
    inputStream: o.inputStream,
    inputFormat,
    output,
    outputFormat,
    rejects,
    id: o.id,
    chunkRows: whole(o.chunkRows, 'chunkRows', 1, 1_000_000) ?? RUN_DEFAULTS.chunkRows,
    window: whole(o.window, 'window', 1, 10_000) ?? RUN_DEFAULTS.window,
    passThrough: Object.freeze([...passThrough]),
    callbackUrl: o.callbackUrl,
    tenant: o.tenant,
    onFinished: o.onFinished,
    maxRejectRate,
    minRowsForRejectRate: whole(o.minRowsForRejectRate, 'minRowsForRejectRate', 1, Number.MAX_SAFE_INTEGER) ?? RUN_DEFAULTS.minRowsForRejectRate,
    attempts: whole(o.attempts, 'attempts', 1, 100) ?? RUN_DEFAULTS.attempts,
    resultTtlSec: whole(o.resultTtlSec, 'resultTtlSec', 1, 365 * 24 * 3600) ?? RUN_DEFAULTS.resultTtlSec,
    maxLineLength: whole(o.maxLineLength, 'maxLineLength', 16, 1 << 29) ?? RUN_DEFAULTS.maxLineLength,
    pollMs: whole(o.pollMs, 'pollMs', 10, 60_000) ?? RUN_DEFAULTS.pollMs,
    onProgress: o.onProgress ?? (() => undefined),
    onError: o.onError ?? (() => undefined),
  });
}

/** `churn@3` → model `churn`, version `3`. */
export function parseModelRef(value: unknown, version: unknown): { model: string; versionRef: string | undefined } {
  if (typeof value !== 'string') throw invalid('model', 'must be a model name, optionally name@version');
  const at = value.indexOf('@');
  const model = at < 0 ? value : value.slice(0, at);
  const ref = at < 0 ? undefined : value.slice(at + 1);
  try {
    assertModelName(model);
  } catch (err) {
    throw invalid('model', (err as Error).message);
  }
  if (ref !== undefined && version !== undefined) throw invalid('version', 'is given twice: in model@version and as the version option');
  const versionRef = ref ?? version;
  if (versionRef !== undefined && (typeof versionRef !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(versionRef))) {
    throw invalid('version', `must be a version number or alias, got ${JSON.stringify(versionRef)}`);
  }
  return { model, versionRef };
}

/** The format a path's extension names. */
export function formatOf(path: string, field: string): RunFileFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  throw invalid(field, `${path} has no .csv, .jsonl or .ndjson extension: name the format with ${field}Format`);
}

function checkFormat(value: unknown, field: string): void {
  if (value !== 'csv' && value !== 'jsonl') throw invalid(field, `must be csv or jsonl, got ${JSON.stringify(value)}`);
}

function whole(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}

function invalid(field: string, why: string): ScoreqError {
  return new ScoreqError('INVALID_OPTION', `${field} ${why}`, { field });
}
