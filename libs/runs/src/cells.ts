import type { FeatureSpec, FeatureValue } from '@scoreq/contracts';

/** A decimal number as CSV writes it: `12`, `-0.5`, `.5`, `1e-3`. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * What a CSV cell means for a feature, before the model's rules (defaults, categories, scaling)
 * apply through `encodeRows`: an empty cell is missing (null: the default, if any), a category
 * name of a categorical feature stays a string, a decimal is a number, and anything else stays
 * a string so that `encodeRows` refuses it, naming the feature.
 */
export function cellValue(cell: string, spec: FeatureSpec): FeatureValue {
  const text = cell.trim();
  if (text === '') return null;
  if (spec.categories !== undefined && Object.hasOwn(spec.categories, text)) return text;
  if (DECIMAL.test(text)) return Number(text);
  return text;
}

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Where the last {@link decimalAt} stopped: the index of the `,` after the cell, or `limit`. */
export let decimalEnd = 0;

/**
 * The value of the plain decimal cell at `s[i…]`, which ends at the next `,` or at `limit`
 * (sign, at most 15 digits, one optional point; no spaces or exponent), or NaN for anything
 * else. Sets {@link decimalEnd} when it returns a number. Hot path of CSV runs: it reads the
 * cell in place, where slicing it out and calling `Number()` costs several times more. The
 * result is always the one `Number()` gives: the digits form an integer below 2^53 and 10^k
 * (k ≤ 15) is exact, so the one division rounds correctly (Clinger's fast path).
 */
export function decimalAt(s: string, i: number, limit: number): number {
  // Explicit bounds checks: reading past the end (NaN) would make V8 take a slower path.
  let c = i < limit ? s.charCodeAt(i) : 44;
  const negative = c === 45;
  if (negative || c === 43) c = ++i < limit ? s.charCodeAt(i) : 44;
  let m = 0;
  let digits = 0;
  while (c >= 48 && c <= 57) {
    m = m * 10 + (c - 48);
    digits++;
    c = ++i < limit ? s.charCodeAt(i) : 44;
  }
  let fraction = 0;
  if (c === 46) {
    c = ++i < limit ? s.charCodeAt(i) : 44;
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      fraction++;
      c = ++i < limit ? s.charCodeAt(i) : 44;
    }
  }
  if (c !== 44 || digits === 0 || digits > 15) return Number.NaN;
  decimalEnd = i;
  const v = fraction === 0 ? m : m / POW10[fraction]!;
  return negative ? -v : v;
}
