import type { FastifyInstance } from 'fastify';
import { buildApi } from './app.js';
import { resolveApiOptions, type ApiOptions } from './options.js';

/** A listening API. */
export interface RunningApi {
  readonly app: FastifyInstance;
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** Stops listening, lets requests in flight finish, closes what the API opened. Idempotent. */
  close(): Promise<void>;
}

/** Builds the API and listens on `options.port` (default PORT) and `options.host`. */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const o = resolveApiOptions(options);
  const app = await buildApi(options);
  try {
    await app.listen({ port: o.port, host: o.host });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  app.log.info({ url, docs: `${url}/docs` }, 'scoreq api listening');
  let closing: Promise<void> | undefined;
  return { app, url, close: () => (closing ??= app.close()) };
}
