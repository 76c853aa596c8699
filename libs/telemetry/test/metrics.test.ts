import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { BATCH_ROWS_BUCKETS, LATENCY_BUCKETS_SECONDS, createLogger, createMetrics } from '../src/index.js';
import { sink } from './sink.js';

/** Value of one sample, read back through the registry as a scraper would see it. */
async function sample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return found?.value;
}

test('createMetrics twice gives independent registries', async () => {
  const a = createMetrics();
  const b = createMetrics();

  a.jobs.inc({ model: 'churn', version: '1', outcome: 'completed', code: '' });

  assert.notEqual(a.registry, b.registry);
  assert.equal(await sample(a.registry, 'scoreq_jobs_total'), 1);
  assert.equal(await sample(b.registry, 'scoreq_jobs_total'), undefined);
});

test('observing a job shows up in the text exposition with the scoreq_ prefix and labels', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const labels = { model: 'churn', version: '3' };

  metrics.jobs.inc({ ...labels, outcome: 'completed', code: '' });
  metrics.jobs.inc({ ...labels, outcome: 'failed', code: 'INVALID_INPUT' });
  metrics.rows.inc(labels, 64);
  metrics.batches.inc({ ...labels, reason: 'full' });
  metrics.batchRows.observe(labels, 64);
  metrics.inference.observe(labels, 0.003);
  metrics.jobLatency.observe({ model: 'churn' }, 0.012);

  const text = await metrics.registry.metrics();
  assert.match(text, /^scoreq_jobs_total\{model="churn",version="3",outcome="completed",code=""\} 1$/m);
  assert.match(text, /^scoreq_jobs_total\{model="churn",version="3",outcome="failed",code="INVALID_INPUT"\} 1$/m);
  assert.match(text, /^scoreq_rows_scored_total\{model="churn",version="3"\} 64$/m);
  assert.match(text, /^scoreq_batches_total\{model="churn",version="3",reason="full"\} 1$/m);
  assert.match(text, /^scoreq_batch_rows_bucket\{le="32",model="churn",version="3"\} 0$/m);
  assert.match(text, /^scoreq_batch_rows_bucket\{le="64",model="churn",version="3"\} 1$/m);
  assert.match(text, /^scoreq_inference_seconds_bucket\{le="0.0025",model="churn",version="3"\} 0$/m);
  assert.match(text, /^scoreq_inference_seconds_bucket\{le="0.005",model="churn",version="3"\} 1$/m);
  assert.match(text, /^scoreq_job_latency_seconds_count\{model="churn"\} 1$/m);
  assert.match(text, /^# HELP scoreq_inference_seconds \S/m);
});

test('every scoreq metric has help text and the latency histograms share one bucket list', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.observeQueueDepth(async () => []);
  metrics.observePool(() => ({ utilization: 0, queueSize: 0, threads: 1 }));

  const all = await metrics.registry.getMetricsAsJSON();
  assert.deepEqual(all.map((m) => m.name).sort(), [
    'scoreq_batch_rows',
    'scoreq_batch_wait_seconds',
    'scoreq_batches_total',
    'scoreq_inference_seconds',
    'scoreq_job_latency_seconds',
    'scoreq_jobs_total',
    'scoreq_metrics_source_errors_total',
    'scoreq_pool_queue_size',
    'scoreq_pool_threads',
    'scoreq_pool_utilization',
    'scoreq_pool_wait_seconds',
    'scoreq_queue_jobs',
    'scoreq_queue_wait_seconds',
    'scoreq_rows_scored_total',
    'scoreq_run_rows_total',
    'scoreq_webhook_deliveries_total',
  ]);
  for (const m of all) assert.ok(m.help.length >= 20, `${m.name} has a helpful help text`);

  for (const histogram of [metrics.queueWait, metrics.batchWait, metrics.poolWait, metrics.jobLatency]) {
    histogram.observe({ model: 'm' }, 0.001);
  }
  metrics.inference.observe({ model: 'm', version: '1' }, 0.001);
  metrics.batchRows.observe({ model: 'm', version: '1' }, 1);
  const text = await metrics.registry.metrics();
  for (const name of ['queue_wait', 'batch_wait', 'pool_wait', 'inference', 'job_latency']) {
    const les = [...text.matchAll(new RegExp(`^scoreq_${name}_seconds_bucket\\{le="([^"]+)"`, 'gm'))].map((m) => m[1]);
    assert.deepEqual(les, [...LATENCY_BUCKETS_SECONDS.map(String), '+Inf'], `scoreq_${name}_seconds buckets`);
  }
  const rowLes = [...text.matchAll(/^scoreq_batch_rows_bucket\{le="([^"]+)"/gm)].map((m) => m[1]);
  assert.deepEqual(rowLes, [...BATCH_ROWS_BUCKETS.map(String), '+Inf']);
});

test('default process metrics are named with the scoreq_ prefix and can be turned off', async () => {
  const withDefaults = createMetrics();
  const without = createMetrics({ defaultMetrics: false });

  const named = (await withDefaults.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(named.includes('scoreq_process_cpu_seconds_total'));
  assert.ok(named.includes('scoreq_nodejs_heap_size_used_bytes'));
  assert.ok(named.every((name) => name.startsWith('scoreq_')));
  const bare = (await without.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(!bare.some((name) => name.startsWith('scoreq_process_') || name.startsWith('scoreq_nodejs_')));
});

test('metrics are created on a registry passed in, and a second set on it is refused', async () => {
  const registry = new Registry();
  const metrics = createMetrics({ registry, defaultMetrics: false });

  assert.equal(metrics.registry, registry);
  assert.ok(registry.getSingleMetric('scoreq_jobs_total'));
  assert.throws(() => createMetrics({ registry, defaultMetrics: false }), /already been registered/);
});

test('queue depth gauges are filled from the source on each scrape, and a second source replaces the first', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  let waiting = 5;
  metrics.observeQueueDepth(async () => [
    { queue: 'score-churn', state: 'waiting', count: waiting },
    { queue: 'score-churn', state: 'active', count: 2 },
  ]);

  assert.equal(await sample(metrics.registry, 'scoreq_queue_jobs', { queue: 'score-churn', state: 'waiting' }), 5);
  waiting = 7;
  assert.equal(await sample(metrics.registry, 'scoreq_queue_jobs', { queue: 'score-churn', state: 'waiting' }), 7);

  metrics.observeQueueDepth(async () => [{ queue: 'score-fraud', state: 'waiting', count: 1 }]);
  const text = await metrics.registry.metrics();
  assert.match(text, /^scoreq_queue_jobs\{queue="score-fraud",state="waiting"\} 1$/m);
  assert.doesNotMatch(text, /score-churn/, 'samples of the replaced source are gone');
});

test('a failing queue-depth source is logged and counted, and the scrape still succeeds', async () => {
  const out = sink();
  const metrics = createMetrics({ defaultMetrics: false, logger: createLogger({ destination: out.stream }) });
  metrics.observeQueueDepth(async () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  });
  metrics.jobs.inc({ model: 'churn', version: '1', outcome: 'completed', code: '' });

  const text = await metrics.registry.metrics();

  assert.match(text, /^scoreq_jobs_total\{.*\} 1$/m);
  assert.doesNotMatch(text, /^scoreq_queue_jobs\{/m);
  assert.match(text, /^scoreq_metrics_source_errors_total\{source="queue_depth"\} 1$/m);
  const line = await out.next();
  assert.equal(line.level, 40);
  assert.equal(line.source, 'queue_depth');
  assert.equal((line.err as { message: string }).message, 'connect ECONNREFUSED 127.0.0.1:6379');
});

test('a queue-depth source that never answers is skipped after sourceTimeoutMs, once for overlapping scrapes', async () => {
  const metrics = createMetrics({ defaultMetrics: false, sourceTimeoutMs: 20 });
  let calls = 0;
  metrics.observeQueueDepth(() => {
    calls += 1;
    return new Promise(() => {});
  });

  const texts = await Promise.all([metrics.registry.metrics(), metrics.registry.metrics()]);

  assert.equal(calls, 1, 'overlapping scrapes share one call');
  for (const text of texts) assert.match(text, /^# TYPE scoreq_jobs_total counter$/m);
  assert.equal(await sample(metrics.registry, 'scoreq_metrics_source_errors_total', { source: 'queue_depth' }), 2);
  await metrics.registry.metrics();
  assert.equal(calls, 2, 'a timed-out call is given up and the next scrape asks again');
});

test('pool gauges are read from the source on each scrape', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const stats = { utilization: 0.25, queueSize: 3, threads: 4 };
  metrics.observePool(() => stats);

  assert.equal(await sample(metrics.registry, 'scoreq_pool_utilization'), 0.25);
  assert.equal(await sample(metrics.registry, 'scoreq_pool_queue_size'), 3);
  assert.equal(await sample(metrics.registry, 'scoreq_pool_threads'), 4);
  stats.utilization = 1;
  assert.equal(await sample(metrics.registry, 'scoreq_pool_utilization'), 1);
});

test('a throwing pool source is counted and does not fail the scrape', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.observePool(() => {
    throw new Error('pool destroyed');
  });

  const text = await metrics.registry.metrics();

  assert.match(text, /^scoreq_metrics_source_errors_total\{source="pool"\} 3$/m);
});

test('a sourceTimeoutMs that is not a positive number is refused by naming the option', () => {
  for (const sourceTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => createMetrics({ defaultMetrics: false, sourceTimeoutMs }), { code: 'INVALID_OPTION', message: /options\.sourceTimeoutMs/ });
  }
});
