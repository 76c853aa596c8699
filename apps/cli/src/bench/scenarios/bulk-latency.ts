import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScoringClient } from '@scoreq/client';
import { REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { writeBulkCsv } from '../bulk/bulk-input.js';
import { startBenchWorker, startCliChild, type CliChild } from '../bulk/cli-child.js';
import { probeLatency, type ProbeLatencies } from '../bulk/latency-probe.js';
import { once } from '../realtime/consumer.js';
import { writeBenchModel } from '../realtime/bench-model.js';
import type { BenchResult, Scenario, ScenarioContext } from '../scenario.js';
import { percentile, round } from '../stats.js';

/** One single-row job every this many ms: light real-time traffic beside the run. */
const PROBE_INTERVAL_MS = 10;
const ALONE_MS = 4_000;
const WARMUP_MS = 500;
const ROWS = 600_000;

/**
 * Real-time latency while an overnight run saturates the same worker (issue 5: "single jobs
 * still finish within a few maxDelayMs"). One worker serves the small MLP; single-row jobs
 * go through the SDK every 10 ms, first alone, then while `scoreq run` scores a CSV through
 * the same worker. Prints p50/p99 of both phases from the same run.
 */
export const bulkLatency: Scenario = {
  name: 'bulk-latency',
  description: `single-row jobs every ${PROBE_INTERVAL_MS} ms (small MLP), p50/p99 alone and while \`scoreq run\` scores a ${ROWS.toLocaleString('en')}-row CSV (--jobs: rows) on the same worker`,
  run: (ctx) => runBulkLatency(ctx),
};

async function runBulkLatency(ctx: ScenarioContext): Promise<BenchResult> {
  const { options } = ctx;
  const rows = options.jobs ?? ROWS;
  const dir = await mkdtemp(join(tmpdir(), 'scoreq-bench-latency-'));
  const removeDir = once(() => rm(dir, { recursive: true, force: true }));
  ctx.cleanup.add('latency bench files', removeDir);
  const client = new ScoringClient({ connection: ctx.redisUrl, prefix: ctx.prefix });
  const closeClient = once(() => client.close());
  ctx.cleanup.add('latency bench client', closeClient);
  try {
    const modelsDir = join(dir, 'models');
    const model = await writeBenchModel(modelsDir, { name: 'bench-latency', mlp: REFERENCE_MODELS.small, labels: ['no', 'yes'], maxJobs: 0 });
    const input = join(dir, 'input.csv');
    await writeBulkCsv(input, model.features, rows, 20_250_103);
    const worker = startBenchWorker(ctx, model.name, modelsDir);
    ctx.cleanup.add('latency worker', () => worker.stop());
    try {
      await worker.waitFor('"msg":"worker ready"');
      const row = model.rows[0]!;
      await probeLatency(client, model.name, row, PROBE_INTERVAL_MS, sleep(WARMUP_MS));
      const alone = await probeLatency(client, model.name, row, PROBE_INTERVAL_MS, sleep(ALONE_MS));
      ctx.progress(`bulk-latency alone: ${describe(alone)}`);
      const run = startRun(ctx, model.name, input, join(dir, 'out.csv'));
      ctx.cleanup.add('latency producer', () => run.stop());
      const started = performance.now();
      // The first moments of a run are the producer starting up, not a run going.
      await sleep(WARMUP_MS);
      const during = await probeLatency(client, model.name, row, PROBE_INTERVAL_MS, run.exited);
      const { code, output } = await run.exited;
      if (code !== 0) throw new Error(`scoreq run exited with ${code}:\n${output.slice(-20).join('\n')}`);
      const runSec = (performance.now() - started) / 1000;
      ctx.progress(`bulk-latency during the run (${(rows / runSec).toFixed(0)} rows/s): ${describe(during)}`);
      const p = (xs: number[], q: number): number => round(percentile(xs, q), 1);
      return {
        scenario: 'bulk-latency',
        rows,
        probe_interval_ms: PROBE_INTERVAL_MS,
        alone_jobs: alone.client.length,
        alone_p50_ms: p(alone.client, 50),
        alone_p99_ms: p(alone.client, 99),
        alone_worker_p50_ms: p(alone.worker, 50),
        alone_worker_p99_ms: p(alone.worker, 99),
        alone_pool_wait_p99_ms: p(alone.poolWait, 99),
        during_run_jobs: during.client.length,
        during_run_p50_ms: p(during.client, 50),
        during_run_p99_ms: p(during.client, 99),
        during_run_worker_p50_ms: p(during.worker, 50),
        during_run_worker_p99_ms: p(during.worker, 99),
        during_run_pool_wait_p99_ms: p(during.poolWait, 99),
        p99_ratio: round(percentile(during.client, 99) / percentile(alone.client, 99), 2),
        worker_p99_ratio: round(percentile(during.worker, 99) / percentile(alone.worker, 99), 2),
        max_delay_ms: options.maxDelayMs,
        run_wall_s: round(runSec, 2),
        threads: options.threads,
        cpu: ctx.machine.cpu,
        nproc: ctx.machine.nproc,
        node: ctx.machine.node,
      };
    } finally {
      await worker.stop();
    }
  } finally {
    await closeClient();
    await removeDir();
  }
}

function startRun(ctx: ScenarioContext, model: string, input: string, output: string): CliChild {
  const id = `bench-latency-${Date.now().toString(36)}`;
  return startCliChild(['run', '--model', model, '--input', input, '--output', output, '--id', id, '--pass-through', 'id', '--progress', 'none'], {
    REDIS_URL: ctx.redisUrl,
    SCOREQ_PREFIX: ctx.prefix,
    LOG_LEVEL: 'warn',
  });
}

function describe(l: ProbeLatencies): string {
  const f = (xs: number[], q: number): string => percentile(xs, q).toFixed(1);
  return (
    `${l.client.length} jobs; submit→result p50 ${f(l.client, 50)} / p99 ${f(l.client, 99)} ms; ` +
    `worker enqueue→stored p50 ${f(l.worker, 50)} / p99 ${f(l.worker, 99)} ms; pool wait p99 ${f(l.poolWait, 99)} ms`
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
