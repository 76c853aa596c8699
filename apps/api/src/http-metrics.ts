import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import { LATENCY_BUCKETS_SECONDS } from '@scoreq/telemetry';

const NAME = 'scoreq_http_request_seconds';

/**
 * `scoreq_http_request_seconds{route,method,status}`: time from a request's arrival to its
 * response, labelled with the route pattern (never the raw URL, so ids do not explode the
 * label set; unmatched paths share `unmatched`). Also serves the registry at GET /metrics.
 */
export function registerHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const existing = registry.getSingleMetric(NAME);
  const histogram =
    (existing as Histogram<'route' | 'method' | 'status'> | undefined) ??
    new Histogram({
      name: NAME,
      help: 'Seconds from an HTTP request arriving at the API to its response, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers: [registry],
    });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    histogram.observe({ route, method: request.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request completed');
  });

  app.get('/metrics', {
    config: { scope: 'public', rateLimit: false },
    schema: {
      summary: 'Prometheus metrics',
      tags: ['operations'],
      security: [],
      response: { 200: z.string().describe('Prometheus text exposition format') },
    },
    handler: async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  });
}
