/**
 * Checks of option values, each refusing a bad value with INVALID_OPTION naming the option
 * (`field`). Shared by the constructor and per-call options.
 */
import { ScoreqError } from '@scoreq/contracts';

/** Longest timer Node can arm; longer delays fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** The error for a bad option, naming it. */
export function invalidOption(field: string, message: string): ScoreqError {
  return new ScoreqError('INVALID_OPTION', `${field} ${message}`, { field });
}

/** The value as an options object. */
export function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidOption(field, 'must be an object');
  return value as Record<string, unknown>;
}

/** Refuses option names not in `known` (typos would otherwise be silently ignored). */
export function refuseUnknown(o: Record<string, unknown>, known: Set<string>, path: string): void {
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw invalidOption(`${path}${key}`, `is not an option (known: ${[...known].join(', ')})`);
  }
}

/** An optional integer within [min, max]. */
export function int(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** An optional non-empty string of at most `maxLength` characters. */
export function text(value: unknown, field: string, maxLength: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw invalidOption(field, `must be a string of 1-${maxLength} characters, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** An optional http(s) URL. */
export function url(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && URL.canParse(value)) {
    const { protocol } = new URL(value);
    if (protocol === 'http:' || protocol === 'https:') return value;
  }
  throw invalidOption(field, `must be an http(s) URL, got ${JSON.stringify(value)}`);
}
