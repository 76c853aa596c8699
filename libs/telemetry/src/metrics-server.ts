import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { ScoreqError } from '@scoreq/contracts';

/** What `/healthz` reports. Only `ok` answers 200; every other status answers 503. */
export interface HealthReport {
  status: 'ok' | 'starting' | 'draining' | 'failing';
  /** Anything that helps an operator, e.g. models loaded or Redis state; sent as is. */
  details?: Record<string, unknown>;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Registry served on `/metrics`. */
  registry: Registry;
  /** TCP port; 0 picks any free port (read it back from {@link MetricsServer.port}). */
  port: number;
  /**
   * Address to bind.
   * @defaultValue '0.0.0.0', as `SCOREQ_METRICS_HOST`
   */
  host?: string;
  /** Called on every `GET /healthz`; a throw or rejection answers 503 `failing`. */
  health: () => HealthReport | Promise<HealthReport>;
  /**
   * Where a failing `/metrics` collection or health check is reported at `warn`.
   * @defaultValue none
   */
  logger?: Logger;
}

/** A running metrics server. */
export interface MetricsServer {
  /** Base URL, e.g. `http://127.0.0.1:9464`; a wildcard bind is shown as loopback. */
  readonly url: string;
  /** Port actually bound (the chosen one when `port` was 0). */
  readonly port: number;
  /**
   * Stops accepting connections, closes idle keep-alive connections and resolves once
   * in-flight requests are answered. Idempotent: every call returns the same promise.
   */
  close(): Promise<void>;
}

const SERVER_DEFAULTS = Object.freeze({ host: '0.0.0.0' });

/**
 * Starts the HTTP server Prometheus and the orchestrator talk to:
 * `GET /metrics` answers the registry's exposition with its content type, `GET /healthz`
 * answers `{status, details?}` as JSON with 200 when `ok` and 503 otherwise, and anything
 * else 404. Built on node:http so the worker needs no web framework.
 *
 * @throws ScoreqError `INVALID_OPTION` when `port` is not an integer in 0..65535.
 * @throws Error from node when the address cannot be bound (e.g. `EADDRINUSE`).
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  if (!(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) {
    throw new ScoreqError('INVALID_OPTION', `options.port must be an integer from 0 to 65535; got ${String(opts.port)}`, { option: 'port' });
  }
  const host = opts.host ?? SERVER_DEFAULTS.host;
  const { registry, health, logger } = opts;

  const server = createServer((req, res) => {
    route(req, res, registry, health, logger).catch((err: unknown) => {
      // Only reached when writing the response itself failed (e.g. the client went away).
      logger?.warn({ err, url: req.url }, 'metrics server could not answer');
      res.destroy();
    });
  });
  await listen(server, opts.port, host);

  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(host)}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // close() only stops accepting; keep-alive sockets (Prometheus keeps one open)
        // would hold it open until they time out.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  health: MetricsServerOptions['health'],
  logger: Logger | undefined,
): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method === 'GET' && path === '/metrics') {
    let body: string;
    try {
      body = await registry.metrics();
    } catch (err) {
      logger?.warn({ err }, 'collecting metrics failed');
      send(res, 500, 'text/plain; charset=utf-8', `collecting metrics failed: ${errorMessage(err)}\n`);
      return;
    }
    send(res, 200, registry.contentType, body);
    return;
  }
  if (req.method === 'GET' && path === '/healthz') {
    let report: HealthReport;
    try {
      report = await health();
    } catch (err) {
      logger?.warn({ err }, 'health check failed');
      report = { status: 'failing', details: { error: errorMessage(err) } };
    }
    send(res, report.status === 'ok' ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(report));
    return;
  }
  send(res, 404, 'text/plain; charset=utf-8', 'not found; try GET /metrics or GET /healthz\n');
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
