import type { RunInfo } from '@scoreq/client';
import type { RunView } from '../schemas/runs.js';
import type { RunsDir } from './runs-dir.js';

/** What GET /v1/runs/:id answers: the run's state and progress, paths as the tenant named them. */
export function runView(info: RunInfo, dir: RunsDir): RunView {
  const self = `/v1/runs/${info.id}`;
  return {
    id: info.id,
    status: info.status,
    model: info.model,
    versionRef: info.versionRef,
    version: info.version,
    input: dir.shown(info.input),
    output: dir.shown(info.output),
    rejects: dir.shown(info.rejects),
    inputFormat: info.inputFormat,
    outputFormat: info.outputFormat,
    ...(info.total === undefined ? {} : { total: info.total }),
    done: info.done,
    failed: info.failed,
    rejected: info.rejected,
    processed: info.processed,
    ...(info.expectedTotal === undefined ? {} : { expectedTotal: info.expectedTotal }),
    ...(info.fraction === undefined ? {} : { fraction: info.fraction }),
    rowsPerSec: info.rowsPerSec,
    ...(info.etaSec === undefined ? {} : { etaSec: info.etaSec }),
    producerAlive: info.producerAlive,
    startedAt: new Date(info.startedAt).toISOString(),
    ...(info.finishedAt === undefined ? {} : { finishedAt: new Date(info.finishedAt).toISOString() }),
    ...(info.error === undefined ? {} : { error: info.error }),
    links: { self, output: `${self}/output`, rejects: `${self}/rejects` },
  };
}
