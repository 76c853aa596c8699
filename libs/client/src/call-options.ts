/** Checks of the options of one call: submit, submitMany, waitForResult. */
import { assertIdempotencyKey } from './job-id.js';
import { int, invalidOption, MAX_TIMER_MS, record, refuseUnknown, text } from './checks.js';
import { DEFAULT_KEYS, resolveDefaults, type ResolvedDefaults, type ResolvedSubmitOptions } from './options.js';

const SUBMIT_KEYS = new Set([...DEFAULT_KEYS, 'delayMs', 'idempotencyKey', 'deadline', 'outputs']);
const SUBMIT_MANY_KEYS = new Set([...DEFAULT_KEYS, 'delayMs', 'idempotencyKeys', 'deadline', 'outputs']);
const WAIT_KEYS = new Set(['timeoutMs', 'signal']);

/** Checks one `submit`'s options and merges them over the client's defaults. */
export function resolveSubmitOptions(options: unknown, defaults: Readonly<ResolvedDefaults>): ResolvedSubmitOptions {
  const o = options === undefined ? {} : record(options, 'options');
  refuseUnknown(o, SUBMIT_KEYS, '');
  if (o.idempotencyKey !== undefined) assertIdempotencyKey(o.idempotencyKey);
  return resolveShared(o, defaults, o.idempotencyKey as string | undefined);
}

/**
 * Checks one `submitMany`'s options: those of `submit` shared by every job, and the
 * per-input idempotency keys (one per input, all different).
 */
export function resolveSubmitManyOptions(
  options: unknown,
  defaults: Readonly<ResolvedDefaults>,
  count: number,
): { shared: ResolvedSubmitOptions; idempotencyKeys: string[] | undefined } {
  const o = options === undefined ? {} : record(options, 'options');
  refuseUnknown(o, SUBMIT_MANY_KEYS, '');
  const keys = o.idempotencyKeys;
  if (keys !== undefined) {
    if (!Array.isArray(keys) || keys.length !== count) throw invalidOption('idempotencyKeys', `must be an array of ${count} keys, one per input`);
    const seen = new Map<string, number>();
    keys.forEach((key: unknown, i) => {
      assertIdempotencyKey(key, `idempotencyKeys[${i}]`);
      const first = seen.get(key);
      if (first !== undefined) throw invalidOption(`idempotencyKeys[${i}]`, `repeats idempotencyKeys[${first}] ('${key}')`);
      seen.set(key, i);
    });
  }
  return { shared: resolveShared(o, defaults, undefined), idempotencyKeys: keys === undefined ? undefined : [...(keys as string[])] };
}

function resolveShared(o: Record<string, unknown>, defaults: Readonly<ResolvedDefaults>, idempotencyKey: string | undefined): ResolvedSubmitOptions {
  const delayMs = int(o.delayMs, 'delayMs', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  return {
    ...resolveDefaults(o, defaults, ''),
    delayMs,
    idempotencyKey,
    deadline: deadline(o.deadline),
    outputs: outputs(o.outputs),
  };
}

/** Checks `waitForResult`'s options. */
export function resolveWaitOptions(options: unknown, defaultTimeoutMs: number): { timeoutMs: number; signal: AbortSignal | undefined } {
  const o = options === undefined ? {} : record(options, 'options');
  refuseUnknown(o, WAIT_KEYS, '');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidOption('signal', 'must be an AbortSignal');
  return { timeoutMs: int(o.timeoutMs, 'timeoutMs', 0, MAX_TIMER_MS) ?? defaultTimeoutMs, signal: o.signal as AbortSignal | undefined };
}

// A deadline already past is not refused: whether it passed is the worker's call, on the
// worker's clock, and the job then fails with DEADLINE_EXCEEDED without spending compute.
function deadline(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0)
    throw invalidOption('deadline', `must be a Date or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

function outputs(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw invalidOption('outputs', 'must be a non-empty array of output names');
  value.forEach((name, i) => text(name, `outputs[${i}]`, 256));
  return [...(value as string[])];
}
