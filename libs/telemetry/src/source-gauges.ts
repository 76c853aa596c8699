import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';

/** One sample of `scoreq_queue_jobs`: how many jobs of `queue` are in `state`. */
export interface QueueDepth {
  /** Queue name, e.g. `score-churn`. */
  queue: string;
  /** BullMQ job state, e.g. `waiting`, `active`, `delayed`, `failed`. */
  state: string;
  /** Jobs in that state. */
  count: number;
}

/** What the pool gauges read on each scrape. */
export interface PoolStats {
  /** Share of pool capacity in use, 0..1 (Piscina `utilization`). */
  utilization: number;
  /** Tasks waiting for a free thread (Piscina `queueSize`). */
  queueSize: number;
  /** Threads in the pool (Piscina `threads.length`). */
  threads: number;
}

type SourceName = 'queue_depth' | 'pool';

/** What {@link createSourceGauges} needs from `createMetrics`; already resolved. */
export interface SourceGaugeContext {
  registry: Registry;
  logger: Logger | undefined;
  sourceTimeoutMs: number;
}

/** The observe half of `ScoreqMetrics`. */
export interface SourceGauges {
  observeQueueDepth(source: () => Promise<QueueDepth[]>): void;
  observePool(source: () => PoolStats): void;
}

/**
 * Gauges read from a callback at scrape time rather than recorded as things happen. A
 * source failing must never fail the scrape: the other metrics are what an operator needs
 * most exactly when Redis is down. So failures are caught here, and made visible as a
 * counter and a warn line instead of being ignored.
 */
export function createSourceGauges(ctx: SourceGaugeContext): SourceGauges {
  const registers = [ctx.registry];
  // Reads of asynchronous sources under way, so the error counter can wait for them.
  const reads = new Set<Promise<void>>();
  const sourceErrors = new Counter({
    name: 'scoreq_metrics_source_errors_total',
    help: 'Scrape-time gauge sources that threw, rejected or timed out; their gauges were left out of (queue_depth) or not updated in (pool) that scrape. source: queue_depth or pool.',
    labelNames: ['source'] as const,
    registers,
    async collect() {
      // prom-client starts every metric's collect in one synchronous loop, and this counter
      // may come before the gauges. Yielding once lets the gauges of this scrape start;
      // waiting for their reads counts a failure in the scrape where it happened, not the next.
      await null;
      await Promise.allSettled(reads);
    },
  });
  const report = (source: SourceName, err: unknown): void => {
    sourceErrors.inc({ source });
    ctx.logger?.warn({ err, source }, 'metrics source failed; its gauges are skipped in this scrape');
  };

  let queueSource: (() => Promise<QueueDepth[]>) | undefined;
  // Scrapes that overlap share one call to the source, so a slow Redis is not asked twice.
  // A call that outlasts the timeout is given up on, so a call lost for good does not freeze
  // the gauge: while Redis hangs, at most one new call starts per timeout.
  let inFlight: Promise<QueueDepth[]> | undefined;
  const readQueueDepth = async (source: () => Promise<QueueDepth[]>): Promise<QueueDepth[]> => {
    let call = inFlight;
    if (!call) {
      const started = Promise.resolve().then(source);
      const clear = (): void => {
        if (inFlight === started) inFlight = undefined;
      };
      started.then(clear, clear);
      inFlight = call = started;
    }
    try {
      return await withTimeout(call, ctx.sourceTimeoutMs, 'queue depth source');
    } catch (err) {
      if (inFlight === call) inFlight = undefined;
      throw err;
    }
  };

  let queueGauge: Gauge<'queue' | 'state'> | undefined;
  const observeQueueDepth = (source: () => Promise<QueueDepth[]>): void => {
    queueSource = source;
    inFlight = undefined;
    queueGauge ??= new Gauge({
      name: 'scoreq_queue_jobs',
      help: 'Jobs in each BullMQ queue by state, read from Redis on each scrape.',
      labelNames: ['queue', 'state'] as const,
      registers,
      collect() {
        const current = queueSource;
        if (!current) return;
        const read = (async () => {
          try {
            const depths = await readQueueDepth(current);
            // Reset and refill in one synchronous step, so queues that disappeared drop out
            // and an overlapping scrape never reads a half-filled gauge.
            this.reset();
            for (const { queue, state, count } of depths) this.set({ queue, state }, count);
          } catch (err) {
            this.reset();
            report('queue_depth', err);
          }
        })();
        reads.add(read);
        void read.then(() => reads.delete(read));
        return read;
      },
    });
  };

  let poolSource: (() => PoolStats) | undefined;
  const poolGauge = (name: string, help: string, pick: (stats: PoolStats) => number): Gauge =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const current = poolSource;
        if (!current) return;
        try {
          this.set(pick(current()));
        } catch (err) {
          // A gauge without labels cannot be emptied (reset() writes 0, which would read as
          // an idle pool), so it keeps its last value; the error counter tells it is stale.
          report('pool', err);
        }
      },
    });
  let poolGauges: readonly Gauge[] | undefined;
  const observePool = (source: () => PoolStats): void => {
    poolSource = source;
    poolGauges ??= [
      poolGauge('scoreq_pool_utilization', 'Share of inference pool capacity in use, 0 to 1 (Piscina utilization).', (s) => s.utilization),
      poolGauge('scoreq_pool_queue_size', 'Batches waiting in the inference pool for a free thread.', (s) => s.queueSize),
      poolGauge('scoreq_pool_threads', 'Threads in the inference pool.', (s) => s.threads),
    ];
  };

  return { observeQueueDepth, observePool };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
