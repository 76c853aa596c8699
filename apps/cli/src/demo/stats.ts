import type { ScoreResult } from '@scoreq/contracts';

/** What the demo measured over every job it scored. */
export interface DemoSummary {
  jobs: number;
  rows: number;
  elapsedSec: number;
  jobsPerSec: number;
  /** Mean over jobs of the size of the batch each job rode in. */
  meanBatchRows: number;
  /** Enqueue-to-settle time of a job, ms. */
  p50TotalMs: number;
  p99TotalMs: number;
}

/** Nearest-rank percentile of values sorted ascending; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export function summarize(results: readonly ScoreResult[], elapsedMs: number): DemoSummary {
  const totals = results.map((r) => r.timings.totalMs).sort((a, b) => a - b);
  const batchRows = results.reduce((sum, r) => sum + r.batch.rows, 0);
  const rows = results.reduce((sum, r) => sum + (r.rows?.length ?? 0), 0);
  const elapsedSec = elapsedMs / 1000;
  return {
    jobs: results.length,
    rows,
    elapsedSec,
    jobsPerSec: elapsedSec > 0 ? results.length / elapsedSec : 0,
    meanBatchRows: results.length > 0 ? batchRows / results.length : 0,
    p50TotalMs: percentile(totals, 50),
    p99TotalMs: percentile(totals, 99),
  };
}

/** The one summary line the demo prints (tests look for its `summary:` start). */
export function formatSummary(s: DemoSummary): string {
  return (
    `summary: ${s.jobs} jobs (${s.rows} rows) in ${s.elapsedSec.toFixed(2)} s = ${Math.round(s.jobsPerSec)} jobs/s; ` +
    `mean batch ${s.meanBatchRows.toFixed(1)} rows; total ms p50 ${s.p50TotalMs.toFixed(1)}, p99 ${s.p99TotalMs.toFixed(1)}`
  );
}
