/**
 * Wall-clock milliseconds with sub-millisecond precision, comparable across threads of one
 * process and (up to clock skew) across hosts. Every timing in a result uses this clock.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
