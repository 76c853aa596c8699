import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { keys, type ModelVersionRecord } from '@scoreq/contracts';
import { parseRunState } from '@scoreq/client';
import type { MlpOptions } from '@scoreq/onnx-builder';
import { once } from '../realtime/consumer.js';
import { writeBenchModel } from '../realtime/bench-model.js';
import type { BenchResult, ScenarioContext } from '../scenario.js';
import { median, round } from '../stats.js';
import { bulkMatrix, writeBulkCsv } from './bulk-input.js';
import { startBenchWorker, startCliChild } from './cli-child.js';
import { runIoBaseline } from './io-baseline.js';
import { runRawBaseline } from './raw-baseline.js';
import { MemorySampler, type MemoryTrace } from './samplers.js';

/** What a bulk scenario scores and compares itself with. */
export interface BulkSpec {
  /** Model (and queue) name. */
  name: string;
  mlp: MlpOptions;
  labels: string[];
  /** Rows in the input file (`--jobs` overrides it). */
  rows: number;
  chunkRows: number;
  window: number;
  /** The baseline of the headline ratio: `io` (parsing ceiling) or `raw` (compute ceiling). */
  baseline: 'io' | 'raw';
  seed: number;
}

interface RunFigure {
  rowsPerSec: number;
  wallSec: number;
  producer: MemoryTrace;
  worker: MemoryTrace;
  redisPeakMb: number;
}

/**
 * A bulk scenario: a seeded CSV generated into a temp dir (deleted after), a scoreq worker and
 * a `scoreq run` producer as separate processes (so each one's memory can be read from /proc),
 * against the `io` or `raw` baseline measured in the same run, taking turns run by run.
 * Throughput is rows ÷ the run's own startedAt→finishedAt (process start-up excluded; the wall
 * time of the `scoreq run` command is reported beside it).
 */
export async function runBulk(ctx: ScenarioContext, scenario: string, spec: BulkSpec): Promise<BenchResult> {
  const { options } = ctx;
  const rows = options.jobs ?? spec.rows;
  const dir = await mkdtemp(join(tmpdir(), 'scoreq-bench-bulk-'));
  const removeDir = once(() => rm(dir, { recursive: true, force: true }));
  ctx.cleanup.add('bulk bench files', removeDir);
  const redis = new Redis(ctx.redisUrl);
  const quit = once(async () => void (await redis.quit().catch(() => redis.disconnect())));
  ctx.cleanup.add('bulk bench redis', quit);
  try {
    const modelsDir = join(dir, 'models');
    const model = await writeBenchModel(modelsDir, { name: spec.name, mlp: spec.mlp, labels: spec.labels, maxJobs: 0 });
    const width = model.features.length;
    const outputWidth = spec.labels.length;
    const input = join(dir, 'input.csv');
    const inputBytes = await writeBulkCsv(input, model.features, rows, spec.seed);
    ctx.progress(
      `${scenario}: ${rows} rows × ${width} features, ${(inputBytes / 2 ** 20).toFixed(0)} MB of CSV; chunks of ${spec.chunkRows} rows, window ${spec.window}`,
    );

    const worker = startBenchWorker(ctx, model.name, modelsDir);
    ctx.cleanup.add('bulk worker', () => worker.stop());
    try {
      await worker.waitFor('"msg":"worker ready"');
      const version = benchVersion(model.metadata, width, outputWidth);
      const matrix = spec.baseline === 'raw' ? bulkMatrix(width, rows, spec.seed) : undefined;
      const baseline: number[] = [];
      const bulkSlots: number[] = [];
      const figures: RunFigure[] = [];
      for (let run = 1; run <= options.runs; run++) {
        if (spec.baseline === 'io') {
          const started = performance.now();
          const written = await runIoBaseline(input, join(dir, 'io-out.csv'), version, outputWidth, spec.chunkRows);
          baseline.push(written / ((performance.now() - started) / 1000));
          await rm(join(dir, 'io-out.csv'), { force: true });
          ctx.progress(`${scenario} io run ${run}/${options.runs}: ${Math.round(baseline.at(-1)!)} rows/s`);
        } else {
          baseline.push(await runRawBaseline(model.path, matrix!, width, spec.chunkRows, options.threads, options.threads));
          // For reference: one thread fewer, what the bulk lane had before it could borrow the thread reserved for real-time jobs.
          bulkSlots.push(await runRawBaseline(model.path, matrix!, width, spec.chunkRows, options.threads, Math.max(1, options.threads - 1)));
          ctx.progress(
            `${scenario} raw run ${run}/${options.runs}: ${Math.round(baseline.at(-1)!)} rows/s (${Math.round(bulkSlots.at(-1)!)} rows/s on the bulk lane's slots)`,
          );
        }
        const figure = await timedRun(ctx, redis, scenario, run, {
          model: model.name,
          input,
          output: join(dir, `out-${run}.csv`),
          rows,
          spec,
          workerPid: worker.pid,
        });
        figures.push(figure);
        ctx.progress(
          `${scenario} scoreq run ${run}/${options.runs}: ${Math.round(figure.rowsPerSec)} rows/s (${figure.wallSec.toFixed(2)} s wall); ` +
            `peak RSS producer ${figure.producer.peakMb.toFixed(0)} MB, worker ${figure.worker.peakMb.toFixed(0)} MB; Redis +${figure.redisPeakMb.toFixed(1)} MB`,
        );
      }
      const rate = median(figures.map((f) => f.rowsPerSec));
      const base = median(baseline);
      const chunkBytes = (spec.chunkRows * width * 4 * 4) / 3 + (spec.chunkRows * outputWidth * 4 * 4) / 3;
      const { machine } = ctx;
      const result: BenchResult = {
        scenario,
        rows,
        rows_per_s: round(rate),
        ...(spec.baseline === 'io'
          ? { io_rows_per_s: round(base), ratio_vs_io: round(rate / base, 2) }
          : {
              raw_rows_per_s: round(base),
              ratio_vs_raw: round(rate / base, 2),
              raw_bulk_lane_rows_per_s: round(median(bulkSlots)),
              ratio_vs_raw_bulk_lane: round(rate / median(bulkSlots), 2),
            }),
        wall_s: round(median(figures.map((f) => f.wallSec)), 2),
        producer_peak_rss_mb: round(Math.max(...figures.map((f) => f.producer.peakMb))),
        producer_rss_growth_mb: round(median(figures.map((f) => f.producer.secondHalfMaxMb - f.producer.firstHalfMaxMb)), 1),
        worker_peak_rss_mb: round(Math.max(...figures.map((f) => f.worker.peakMb))),
        worker_rss_growth_mb: round(median(figures.map((f) => f.worker.secondHalfMaxMb - f.worker.firstHalfMaxMb)), 1),
        redis_peak_mb: round(Math.max(...figures.map((f) => f.redisPeakMb)), 1),
        redis_window_bound_mb: round((spec.window * chunkBytes) / 2 ** 20, 1),
        chunk_rows: spec.chunkRows,
        window: spec.window,
        threads: options.threads,
        runs: options.runs,
        input_mb: round(inputBytes / 2 ** 20),
        cpu: machine.cpu,
        nproc: machine.nproc,
        node: machine.node,
      };
      return result;
    } finally {
      await worker.stop();
    }
  } finally {
    await quit();
    await removeDir();
  }
}

interface RunSetup {
  model: string;
  input: string;
  output: string;
  rows: number;
  spec: BulkSpec;
  workerPid: number;
}

/** One `scoreq run` of the whole input, in its own process, measured from outside. */
async function timedRun(ctx: ScenarioContext, redis: Redis, scenario: string, run: number, s: RunSetup): Promise<RunFigure> {
  const id = `bench-${scenario}-${run}-${Date.now().toString(36)}`;
  const redisBase = await MemorySampler.redisUsed(redis);
  const started = performance.now();
  const producer = startCliChild(
    [
      'run',
      '--model',
      s.model,
      '--input',
      s.input,
      '--output',
      s.output,
      '--id',
      id,
      '--pass-through',
      'id',
      '--chunk-rows',
      String(s.spec.chunkRows),
      '--window',
      String(s.spec.window),
      '--progress',
      'none',
    ],
    { REDIS_URL: ctx.redisUrl, SCOREQ_PREFIX: ctx.prefix, LOG_LEVEL: 'warn' },
  );
  ctx.cleanup.add(`producer ${id}`, () => producer.stop());
  const sampler = new MemorySampler([producer.pid, s.workerPid], redis, redisBase);
  const { code, output } = await producer.exited;
  const wallSec = (performance.now() - started) / 1000;
  const memory = sampler.stop();
  if (code !== 0) throw new Error(`scoreq run exited with ${code}:\n${output.slice(-20).join('\n')}`);
  const state = parseRunState(id, await redis.hgetall(keys(ctx.prefix).run(id)));
  if (state.status !== 'completed' || state.done !== s.rows) throw new Error(`run ${id} ended ${state.status} with ${state.done} of ${s.rows} rows`);
  await rm(s.output, { force: true });
  await rm(`${s.output}.rejects.csv`, { force: true });
  return {
    rowsPerSec: state.done / ((state.finishedAt! - state.startedAt) / 1000),
    wallSec,
    producer: memory.processes.get(producer.pid)!,
    worker: memory.processes.get(s.workerPid)!,
    redisPeakMb: memory.redisPeakMb,
  };
}

/** The version record the io baseline's chunker validates against (what the catalogue would say). */
function benchVersion(metadata: ModelVersionRecord['metadata'], width: number, outputs: number): ModelVersionRecord {
  return {
    version: '1',
    sha256: '',
    size: 0,
    createdAt: new Date(0).toISOString(),
    signature: {
      inputs: [{ name: 'input', type: 'float32', shape: ['N', width] }],
      outputs: [{ name: 'probabilities', type: 'float32', shape: ['N', outputs] }],
      batch: { dynamic: true, size: null },
    },
    metadata,
  };
}
