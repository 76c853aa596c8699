import type { ModelVersionRecord } from '@scoreq/contracts';
import type { ModelCodec, WireTensor } from '@scoreq/inference';
import { outputRows } from './samples.js';
import type { OutputDiff, VersionComparison } from './validation-report.js';

/** Differences up to this are float noise, not a change. */
const CHANGE_EPSILON = 1e-6;

/** One side of a comparison: a version, its codec and its outputs on the samples. */
export interface ComparedSide {
  record: ModelVersionRecord;
  codec: ModelCodec;
  outputs: WireTensor[];
}

/**
 * Compares two versions' outputs on the same `rows` sample rows: per output present in both
 * with the same row width, the largest and mean absolute difference and the rows that
 * changed; for classifiers on both sides, the share of rows whose label changed.
 */
export function compareOutputs(alias: string, candidate: ComparedSide, current: ComparedSide, rows: number): VersionComparison {
  const outputs: OutputDiff[] = [];
  const mismatched: string[] = [];
  for (const out of candidate.outputs) {
    const other = current.outputs.find((o) => o.name === out.name);
    if (!other) {
      mismatched.push(`'${out.name}' is new in v${candidate.record.version}`);
      continue;
    }
    const a = outputRows(out, rows);
    const b = outputRows(other, rows);
    if (!a || !b || a[0]?.length !== b[0]?.length) {
      mismatched.push(
        `'${out.name}' has [${out.dims.join(', ')}] in v${candidate.record.version} but [${other.dims.join(', ')}] in v${current.record.version}`,
      );
      continue;
    }
    outputs.push(diff(out.name, a, b));
  }
  for (const other of current.outputs) {
    if (!candidate.outputs.some((o) => o.name === other.name)) mismatched.push(`'${other.name}' is gone in v${candidate.record.version}`);
  }
  const comparison: VersionComparison = { alias, version: current.record.version, comparable: true, outputs, mismatched };
  if (candidate.record.metadata.output?.kind === 'classification' && current.record.metadata.output?.kind === 'classification') {
    const a = candidate.codec.decode(candidate.outputs, false).rows ?? [];
    const b = current.codec.decode(current.outputs, false).rows ?? [];
    let changed = 0;
    for (let r = 0; r < rows; r++) if (a[r]?.label !== b[r]?.label) changed++;
    comparison.labels = { changed, rows, share: rows === 0 ? 0 : changed / rows };
  }
  return comparison;
}

function diff(name: string, a: number[][], b: number[][]): OutputDiff {
  let max = 0;
  let sum = 0;
  let count = 0;
  let changedRows = 0;
  a.forEach((row, r) => {
    let changed = false;
    row.forEach((x, i) => {
      const y = b[r]![i]!;
      // Equal values (infinities included) do not differ; NaN on one side is the largest change.
      const d = x === y ? 0 : Number.isNaN(x - y) ? Number.POSITIVE_INFINITY : Math.abs(x - y);
      max = Math.max(max, d);
      sum += d;
      count++;
      if (d > CHANGE_EPSILON) changed = true;
    });
    if (changed) changedRows++;
  });
  return { name, maxAbsDiff: max, meanAbsDiff: count === 0 ? 0 : sum / count, changedRows, rows: a.length };
}
