import type { TensorType } from '@scoreq/contracts';

/** One output of the candidate as the samples produced it. */
export interface OutputCheck {
  name: string;
  type: TensorType;
  dims: number[];
  /** NaN and ±Infinity values among the checked rows. */
  nonFinite: number;
}

/** How one output differs between the candidate and the alias's current version. */
export interface OutputDiff {
  name: string;
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** Rows with at least one value differing by more than 1e-6. */
  changedRows: number;
  rows: number;
}

/** The candidate's outputs next to the current version's, on the same samples. */
export interface VersionComparison {
  alias: string;
  /** The version the alias points at now. */
  version: string;
  /** False when the two versions cannot be fed the same samples; `reason` says why. */
  comparable: boolean;
  reason?: string;
  outputs: OutputDiff[];
  /** Classifiers (metadata `output.kind`) on both sides: rows whose predicted label changed. */
  labels?: { changed: number; rows: number; share: number };
  /** Outputs one version has and the other lacks, or has with another row width. */
  mismatched: string[];
}

/** What validation found. `ok` is false exactly when `problems` is not empty. */
export interface ValidationReport {
  ok: boolean;
  model: string;
  version: string;
  /** Each reason validation fails, as a sentence that says what is wrong. */
  problems: string[];
  /** Facts worth knowing that do not fail validation (fixed batch axis, no comparison…). */
  notes: string[];
  samples: { source: 'metadata' | 'generated'; rows: number };
  outputs: OutputCheck[];
  /** Check against the metadata's `expected` values, when it has some. */
  expected?: { output: string; maxAbsDiff: number; tolerance: number; ok: boolean };
  comparison?: VersionComparison;
}

/**
 * The report as text for people:
 *
 * ```
 * churn v3: OK, 8 generated sample rows
 *   output         type     dims    non-finite
 *   probabilities  float32  [8, 2]  0
 *   compared with production (v2) on the same rows:
 *   output         max |diff|  mean |diff|  rows changed
 *   probabilities  0.4121      0.1033       8/8
 *   labels changed: 3/8 (37.5%)
 * ```
 */
export function formatValidationReport(report: ValidationReport): string {
  const lines: string[] = [];
  const verdict = report.ok ? 'OK' : 'FAILED';
  lines.push(
    `${report.model} v${report.version}: ${verdict}, ${report.samples.rows} ${report.samples.source} sample row${report.samples.rows === 1 ? '' : 's'}`,
  );
  if (report.outputs.length > 0) {
    const rows = report.outputs.map((o) => [o.name, o.type, `[${o.dims.join(', ')}]`, String(o.nonFinite)]);
    lines.push(...indent(table(['output', 'type', 'dims', 'non-finite'], rows)));
  }
  if (report.expected) {
    const e = report.expected;
    lines.push(`  expected values of '${e.output}': max |diff| ${num(e.maxAbsDiff)} ${e.ok ? '<=' : '>'} tolerance ${num(e.tolerance)}`);
  }
  const c = report.comparison;
  if (c) {
    if (!c.comparable) {
      lines.push(`  not compared with ${c.alias} (v${c.version}): ${c.reason ?? 'incomparable'}`);
    } else {
      lines.push(`  compared with ${c.alias} (v${c.version}) on the same rows:`);
      const rows = c.outputs.map((d) => [d.name, num(d.maxAbsDiff), num(d.meanAbsDiff), `${d.changedRows}/${d.rows}`]);
      if (rows.length > 0) lines.push(...indent(table(['output', 'max |diff|', 'mean |diff|', 'rows changed'], rows)));
      if (c.labels) lines.push(`  labels changed: ${c.labels.changed}/${c.labels.rows} (${(c.labels.share * 100).toFixed(1)}%)`);
      if (c.mismatched.length > 0) lines.push(`  outputs not compared: ${c.mismatched.join('; ')}`);
    }
  }
  if (report.problems.length > 0) lines.push('  problems:', ...report.problems.map((p) => `    - ${p}`));
  if (report.notes.length > 0) lines.push('  notes:', ...report.notes.map((n) => `    - ${n}`));
  return lines.join('\n');
}

function num(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
}

function indent(lines: string[]): string[] {
  return lines.map((l) => `  ${l}`);
}

function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}
