/**
 * A model output (a float32) as text: 9 significant digits, which tell every float32 apart,
 * trailing zeros dropped (`0.5`, `0.880797029`, `1.2e-7`). The same value always gives the
 * same text, so a resumed run writes the same bytes. `toPrecision` is also about twice as fast
 * as `String()` on these values. Non-finite values give `NaN`, `Infinity` (callers writing
 * JSON map them to null).
 */
export function formatNumber(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const s = x.toPrecision(9);
  const e = s.indexOf('e');
  if (e === -1) return trimZeros(s);
  return trimZeros(s.slice(0, e)) + s.slice(e);
}

function trimZeros(s: string): string {
  if (s.indexOf('.') === -1) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return end === s.length ? s : s.slice(0, end);
}
