import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, startMetricsServer } from '../src/index.js';
import type { HealthReport, MetricsServer, MetricsServerOptions } from '../src/index.js';

/** Starts a server on a free loopback port, closed when the test ends. */
async function start(t: TestContext, opts: Partial<MetricsServerOptions> = {}): Promise<MetricsServer> {
  const server = await startMetricsServer({
    registry: opts.registry ?? createMetrics({ defaultMetrics: false }).registry,
    port: 0,
    host: '127.0.0.1',
    health: () => ({ status: 'ok' }),
    ...opts,
  });
  t.after(() => server.close());
  return server;
}

test('GET /metrics answers the exposition with the registry content type', async (t) => {
  const metrics = createMetrics();
  metrics.jobs.inc({ model: 'churn', version: '1', outcome: 'completed', code: '' });
  const server = await start(t, { registry: metrics.registry });

  const res = await fetch(`${server.url}/metrics`);

  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), metrics.registry.contentType);
  const text = await res.text();
  assert.match(text, /^scoreq_jobs_total\{model="churn",version="1",outcome="completed",code=""\} 1$/m);
  assert.match(text, /^scoreq_process_cpu_seconds_total /m);
});

test('port 0 binds a free port and the url names it on 127.0.0.1', async (t) => {
  const server = await start(t);

  assert.ok(server.port > 0);
  assert.equal(server.url, `http://127.0.0.1:${server.port}`);
});

test('GET /healthz answers 200 when ok and 503 when draining, with the report as JSON', async (t) => {
  let report: HealthReport = { status: 'ok', details: { models: 2 } };
  const server = await start(t, { health: async () => report });

  const ok = await fetch(`${server.url}/healthz`);
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await ok.json(), { status: 'ok', details: { models: 2 } });

  report = { status: 'draining' };
  const draining = await fetch(`${server.url}/healthz`);
  assert.equal(draining.status, 503);
  assert.deepEqual(await draining.json(), { status: 'draining' });
});

test('GET /healthz answers 503 failing when the health check throws', async (t) => {
  const server = await start(t, {
    health: () => {
      throw new Error('redis unreachable');
    },
  });

  const res = await fetch(`${server.url}/healthz`);

  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { status: 'failing', details: { error: 'redis unreachable' } });
});

test('other paths and methods answer 404, and a query string does not hide a path', async (t) => {
  const server = await start(t);

  for (const [method, path] of [
    ['GET', '/'],
    ['GET', '/metricsx'],
    ['GET', '/health'],
    ['POST', '/metrics'],
    ['DELETE', '/healthz'],
  ] as const) {
    const res = await fetch(`${server.url}${path}`, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    await res.arrayBuffer();
  }
  const withQuery = await fetch(`${server.url}/healthz?verbose=1`);
  assert.equal(withQuery.status, 200);
  await withQuery.arrayBuffer();
});

test('a failing queue-depth source does not make /metrics fail', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.observeQueueDepth(async () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  });
  metrics.rows.inc({ model: 'churn', version: '1' }, 10);
  const server = await start(t, { registry: metrics.registry });

  const res = await fetch(`${server.url}/metrics`);

  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^scoreq_rows_scored_total\{model="churn",version="1"\} 10$/m);
  assert.match(text, /^scoreq_metrics_source_errors_total\{source="queue_depth"\} 1$/m);
});

test('close() twice is fine, closes kept-alive connections, and the port stops answering', async () => {
  const server = await startMetricsServer({
    registry: createMetrics({ defaultMetrics: false }).registry,
    port: 0,
    host: '127.0.0.1',
    health: () => ({ status: 'ok' }),
  });
  // fetch keeps its connection open for the next request; close() must not wait on it.
  const res = await fetch(`${server.url}/metrics`);
  await res.text();

  const first = server.close();
  const second = server.close();
  assert.equal(first, second);
  await first;
  await server.close();
  await assert.rejects(fetch(`${server.url}/metrics`));
});

test('a port that is taken is refused with EADDRINUSE', async (t) => {
  const taken = await start(t);

  await assert.rejects(
    startMetricsServer({ registry: createMetrics({ defaultMetrics: false }).registry, port: taken.port, host: '127.0.0.1', health: () => ({ status: 'ok' }) }),
    { code: 'EADDRINUSE' },
  );
});

test('a port outside 0..65535 is refused by naming the option', async () => {
  const registry = createMetrics({ defaultMetrics: false }).registry;
  for (const port of [-1, 65536, 1.5, Number.NaN]) {
    await assert.rejects(startMetricsServer({ registry, port, health: () => ({ status: 'ok' }) }), { code: 'INVALID_OPTION', message: /options\.port/ });
  }
});
