import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { now, queueName } from '@scoreq/contracts';
import { TARGET_DRAIN_SEC } from '../options.js';
import type { BenchResult, ScenarioContext } from '../scenario.js';
import { median, round } from '../stats.js';
import { writeBenchModel, type BenchModel, type RealtimeModelSpec } from './bench-model.js';
import { BenchQueue, type DrainTiming } from './bench-queue.js';
import { once, type Consumer, type ConsumerSettings, type ScoredDrain, type SystemName } from './consumer.js';
import { startNaiveConsumer, startNoopConsumer } from './plain-consumers.js';
import { startScoreqConsumer } from './scoreq-consumer.js';

/** Order of the systems in each round: baselines first, then the system under test. */
const SYSTEMS: readonly SystemName[] = ['noop', 'naive', 'scoreq'];

const STARTERS: Readonly<Record<SystemName, (s: ConsumerSettings) => Promise<Consumer>>> = {
  noop: startNoopConsumer,
  naive: startNaiveConsumer,
  scoreq: startScoreqConsumer,
};

/** Fewest jobs a sized drain gets, however slow the warm-up was. */
const MIN_SIZED_JOBS = 2_000;
/** Shortest drain BENCHMARKS.md accepts as a figure. */
const MIN_DRAIN_MS = 3_000;
/**
 * A first sized drain shorter than this is taken as more warm-up and the drains are sized
 * again: a margin over MIN_DRAIN_MS, so that noise does not push later drains below it.
 */
const RESIZE_BELOW_MS = 4_000;
/** Times one run may be redone with drains sized again. */
const MAX_RESIZES = 2;
/** Warm-up of the runs after the first: the process is warm, only the new consumer is not. */
const REWARM_JOBS = 1_000;

/** One system's figure, filled run by run. */
interface SystemFigure {
  readonly system: SystemName;
  /** Jobs per timed drain: from --jobs, else sized during the first run (and grown if a later drain was too short). */
  jobs: number | undefined;
  readonly drains: DrainTiming[];
  /** scoreq's per-drain figures from its result records; empty for the baselines. */
  readonly scored: ScoredDrain[];
}

/**
 * A realtime scenario: single-row jobs for one model, drained by `noop`, `naive` and
 * `scoreq`, on the same Redis, queue, payloads, job options, threads and concurrency.
 *
 * Systems take turns, one run each per round (noop, naive, scoreq, noop, …), so noise from
 * other work on a shared machine spreads over all three instead of landing on one; only one
 * system runs at a time, with the cores to itself. Each run starts the system's consumer on
 * a pre-filled, paused queue, drains a warm-up, then times one drain of a pre-filled queue
 * and closes the consumer. The first run of each system also sizes its drains to last about
 * {@link TARGET_DRAIN_SEC} s. Each figure is the median of its runs.
 */
export async function runRealtime(ctx: ScenarioContext, scenario: string, spec: RealtimeModelSpec): Promise<BenchResult> {
  const { options } = ctx;
  const dir = await mkdtemp(join(tmpdir(), 'scoreq-bench-models-'));
  const removeDir = once(() => rm(dir, { recursive: true, force: true }));
  ctx.cleanup.add('bench models dir', removeDir);
  try {
    const model = await writeBenchModel(dir, spec);
    const queue = new BenchQueue(ctx.redisUrl, ctx.prefix, queueName(model.name));
    ctx.cleanup.add(`bench queue ${queue.name}`, () => queue.close());
    try {
      const settings: ConsumerSettings = {
        redisUrl: ctx.redisUrl,
        prefix: ctx.prefix,
        queue: queue.name,
        model,
        modelsDir: dir,
        threads: options.threads,
        concurrency: options.concurrency,
        maxBatchRows: options.maxBatchRows,
        maxDelayMs: options.maxDelayMs,
        config: options.config,
        logLevel: options.logLevel,
        logger: ctx.logger,
      };
      const figures = SYSTEMS.map((system): SystemFigure => ({ system, jobs: undefined, drains: [], scored: [] }));
      for (let run = 1; run <= options.runs; run++) {
        for (const figure of figures) await timedRun({ ctx, scenario, spec, queue, settings }, figure, run);
      }
      const result = resultLine(ctx, scenario, new Map(figures.map((f) => [f.system, f])));
      ctx.progress(summaryLine(result));
      return result;
    } finally {
      await queue.close();
    }
  } finally {
    await removeDir();
  }
}

interface RunSetup {
  ctx: ScenarioContext;
  scenario: string;
  spec: RealtimeModelSpec;
  queue: BenchQueue;
  settings: ConsumerSettings;
}

/** One timed run of one system, from starting its consumer to closing it. */
async function timedRun({ ctx, scenario, spec, queue, settings }: RunSetup, figure: SystemFigure, run: number): Promise<void> {
  const { options } = ctx;
  const payload = jobData(settings.model);
  const label = `${scenario} ${figure.system}`;

  // Pre-fill before the consumer exists: the paused queue holds the jobs until drain(). The
  // first run's warm-up also sizes the drains; later runs only warm the new consumer up.
  const warmJobs = figure.jobs === undefined ? options.warmupJobs : Math.min(options.warmupJobs, REWARM_JOBS);
  const warmIds = await queue.prefill(warmJobs, payload);
  const consumer = await STARTERS[figure.system](settings);
  ctx.cleanup.add(`${figure.system} consumer`, () => consumer.close());
  try {
    const warm = await queue.drain(warmJobs);
    await consumer.afterDrain(warmIds);
    await queue.clear();
    let jobs = figure.jobs;
    if (jobs === undefined) {
      jobs = options.jobs ?? sizeJobs(warm.jobsPerSec, spec.maxJobs);
      ctx.progress(`${label} warm-up: ${Math.round(warm.jobsPerSec)} jobs/s (${warm.jobs} jobs); timed drains of ${jobs} jobs`);
    }
    for (let resizes = 0; ; resizes++) {
      const ids = await queue.prefill(jobs, payload);
      const drain = await queue.drain(jobs);
      const detail = await consumer.afterDrain(ids);
      await queue.clear();
      // The warm-up rate includes the ramp-up, so the first sized drain may come out short, and
      // a system slowed by other work while it was sized may later drain too fast. Such a
      // drain counts as more warm-up; the drains are sized again from its rate and it is redone.
      const shortBelow = figure.jobs === undefined ? RESIZE_BELOW_MS : MIN_DRAIN_MS;
      if (options.jobs === undefined && drain.elapsedMs < shortBelow && jobs < spec.maxJobs && resizes < MAX_RESIZES) {
        const resized = Math.max(sizeJobs(drain.jobsPerSec, spec.maxJobs), jobs + 1_000);
        ctx.progress(
          `${label} sizing: ${Math.round(drain.jobsPerSec)} jobs/s (${jobs} jobs in ${seconds(drain)} s, too short to time); timed drains of ${resized} jobs`,
        );
        jobs = resized;
        continue;
      }
      figure.jobs = jobs;
      figure.drains.push(drain);
      if (detail) figure.scored.push(detail);
      const short = drain.elapsedMs < MIN_DRAIN_MS ? ` (shorter than ${MIN_DRAIN_MS / 1000} s: raise --jobs for a steadier figure)` : '';
      const batching = detail
        ? `; mean batch ${detail.meanBatchRows.toFixed(1)} rows, worker p50 ${detail.workerP50Ms.toFixed(2)} ms, p99 ${detail.workerP99Ms.toFixed(2)} ms`
        : '';
      ctx.progress(`${label} run ${run}/${options.runs}: ${Math.round(drain.jobsPerSec)} jobs/s (${jobs} jobs in ${seconds(drain)} s)${batching}${short}`);
      return;
    }
  } finally {
    await consumer.close();
  }
}

/**
 * The job data scoreq's contract defines, the same for every system: one row, drawn in turn
 * from the model's fixed rows, and the enqueue time. (That time only feeds `queuedMs`, which
 * the bench ignores: in a pre-filled drain it is backlog, not speed.)
 */
function jobData(model: BenchModel): (i: number) => Record<string, unknown> {
  return (i) => ({ model: model.name, rows: [model.rows[i % model.rows.length]!], enqueuedAt: now() });
}

function seconds(drain: DrainTiming): string {
  return (drain.elapsedMs / 1000).toFixed(2);
}

/** Jobs drained in about TARGET_DRAIN_SEC at the warm-up rate, in thousands, within bounds. */
function sizeJobs(warmJobsPerSec: number, maxJobs: number): number {
  const target = Math.ceil((warmJobsPerSec * TARGET_DRAIN_SEC) / 1_000) * 1_000;
  return Math.min(maxJobs, Math.max(MIN_SIZED_JOBS, target));
}

function resultLine(ctx: ScenarioContext, scenario: string, figures: ReadonlyMap<SystemName, SystemFigure>): BenchResult {
  const figure = (system: SystemName): SystemFigure => figures.get(system)!;
  const rate = (f: SystemFigure): number => median(f.drains.map((d) => d.jobsPerSec));
  const scoreq = figure('scoreq');
  const noop = figure('noop');
  const naive = figure('naive');
  // Like the throughput, scoreq's batch and latency figures are medians over the timed drains.
  const scoredMedian = (pick: (d: ScoredDrain) => number): number => median(scoreq.scored.map(pick));
  const { options, machine } = ctx;
  return {
    scenario,
    jobs_per_s: round(rate(scoreq)),
    noop_jobs_per_s: round(rate(noop)),
    naive_jobs_per_s: round(rate(naive)),
    ratio_vs_noop: round(rate(scoreq) / rate(noop), 2),
    ratio_vs_naive: round(rate(scoreq) / rate(naive), 2),
    mean_batch_rows: round(
      scoredMedian((d) => d.meanBatchRows),
      1,
    ),
    worker_p50_ms: round(
      scoredMedian((d) => d.workerP50Ms),
      2,
    ),
    worker_p99_ms: round(
      scoredMedian((d) => d.workerP99Ms),
      2,
    ),
    threads: options.threads,
    concurrency: options.concurrency,
    jobs: scoreq.jobs!,
    runs: options.runs,
    cpu: machine.cpu,
    nproc: machine.nproc,
    node: machine.node,
    noop_jobs: noop.jobs!,
    naive_jobs: naive.jobs!,
    max_batch_rows: options.maxBatchRows,
    max_delay_ms: options.maxDelayMs,
  };
}

function summaryLine(r: BenchResult): string {
  return (
    `${r.scenario}: scoreq ${r.jobs_per_s} jobs/s = ${r.ratio_vs_noop}× noop (${r.noop_jobs_per_s}), ${r.ratio_vs_naive}× naive (${r.naive_jobs_per_s}); ` +
    `mean batch ${r.mean_batch_rows} rows; worker p50 ${r.worker_p50_ms} ms, p99 ${r.worker_p99_ms} ms`
  );
}
