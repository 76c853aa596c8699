import type { FeatureRow } from '@scoreq/contracts';
import { rowSource, type DemoModel } from './models.js';

/** One job the demo submits. */
export interface PlannedJob {
  model: string;
  input: { rows: FeatureRow[] };
}

/** What to submit, in submission order: chunks for one `submitMany` call each. */
export interface DemoPlan {
  chunks: { model: string; jobs: PlannedJob[] }[];
  singleRowJobs: number;
  multiRowJobs: number;
}

/** Jobs per `submitMany` call. */
const CHUNK_JOBS = 500;

/**
 * The demo's workload: `churnJobs` single-row jobs to churn, a fifth as many to risk, and a
 * few multi-row jobs to each, cut into chunks that alternate between the models so both
 * queues are busy at once. Rows are seeded, so every run scores the same inputs.
 */
export function planDemo(models: readonly DemoModel[], churnJobs: number): DemoPlan {
  const perModel = new Map<string, PlannedJob[]>();
  let singleRowJobs = 0;
  let multiRowJobs = 0;
  models.forEach((model, m) => {
    const next = rowSource(model, 1000 + m);
    const singles = model.name === 'churn' ? churnJobs : Math.max(1, Math.round(churnJobs / 5));
    const multi = model.name === 'churn' ? { jobs: 10, rows: 25 } : { jobs: 5, rows: 10 };
    const jobs: PlannedJob[] = [];
    for (let i = 0; i < singles; i++) jobs.push({ model: model.name, input: { rows: [next()] } });
    for (let i = 0; i < multi.jobs; i++) jobs.push({ model: model.name, input: { rows: Array.from({ length: multi.rows }, next) } });
    singleRowJobs += singles;
    multiRowJobs += multi.jobs;
    perModel.set(model.name, jobs);
  });

  const chunks: DemoPlan['chunks'] = [];
  for (let offset = 0; ; offset += CHUNK_JOBS) {
    let added = false;
    for (const [model, jobs] of perModel) {
      const slice = jobs.slice(offset, offset + CHUNK_JOBS);
      if (slice.length === 0) continue;
      chunks.push({ model, jobs: slice });
      added = true;
    }
    if (!added) break;
  }
  return { chunks, singleRowJobs, multiRowJobs };
}
