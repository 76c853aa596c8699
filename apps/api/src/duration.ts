/** A wait as `?wait=` takes it: `500ms`, `5s`, `1m`, or bare seconds (`5`). */
export const DURATION = /^(\d{1,9})(ms|s|m)?$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** Milliseconds of a duration matching {@link DURATION} (the route schema checked it). */
export function durationMs(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new RangeError(`not a duration: ${text}`);
  return Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
}
