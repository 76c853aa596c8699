import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { Redis } from 'ioredis';
import { ScoreqError } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { ModelRegistry, registryOptionsFromConfig } from '@scoreq/registry';
import { createLogger, createMetrics, type Logger } from '@scoreq/telemetry';
import { parseAllowlist } from '@scoreq/webhooks';
import { ApiKeyStore } from './auth/api-keys.js';
import { registerAuth } from './auth/auth-hook.js';
import { registerJsonParser } from './body-parsers.js';
import { ApiQueues } from './bullmq-factory.js';
import type { ApiContext } from './context.js';
import { registerDocs } from './docs.js';
import { registerErrorHandling } from './error-handler.js';
import { registerHttpMetrics } from './http-metrics.js';
import { JobAccess } from './job-access.js';
import { resolveApiOptions, type ApiOptions } from './options.js';
import { registerRateLimit } from './rate-limit.js';
import { jobRoutes } from './routes/jobs.js';
import { modelRoutes } from './routes/models.js';
import { oipRoutes } from './routes/oip.js';
import { runRoutes } from './routes/runs.js';
import { webhookRoutes } from './routes/webhooks.js';
import { RunAdopter } from './runs/run-adopter.js';
import { RunManager } from './runs/run-manager.js';
import { RunsDir } from './runs/runs-dir.js';

/**
 * Builds the HTTP API, ready for `app.inject()` or `app.listen()`: Redis connections, the
 * ScoringClient, the model registry, auth, rate limits, docs, metrics and every route.
 * `app.close()` closes everything it opened (not a `redis` passed in).
 *
 * @throws ScoreqError INVALID_OPTION for bad options, REDIS_UNAVAILABLE when Redis does not answer.
 */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const o = resolveApiOptions(options);
  const { config } = o;
  const prefix = config.SCOREQ_PREFIX;
  const logger: Logger = o.logger ?? createLogger({ level: config.LOG_LEVEL, service: 'scoreq-api' });
  const metrics = o.metrics ?? createMetrics({ logger });
  const onBackgroundError = (err: Error): void => logger.debug({ err }, 'redis connection error (requests that need Redis fail with REDIS_UNAVAILABLE)');

  // Every step of the teardown runs even if one fails, newest first.
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async (): Promise<void> => {
    const results = [];
    for (const close of closers.reverse())
      results.push(
        await close().then(
          () => undefined,
          (err: unknown) => err,
        ),
      );
    closers.length = 0;
    const failed = results.filter((r) => r !== undefined);
    if (failed.length > 0) logger.warn({ errors: failed.map(String) }, 'closing the API left something open');
  };

  try {
    let redis = o.redis;
    if (!redis) {
      redis = await connect(config.REDIS_URL, onBackgroundError);
      const owned = redis;
      closers.push(() => owned.quit().catch(() => owned.disconnect()));
    }
    // The registry watches keys on a duplicate of its connection, which must queue commands
    // until it is connected: it gets a connection of its own with the offline queue on.
    const registryRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
    registryRedis.on('error', onBackgroundError);
    closers.push(() => registryRedis.quit().catch(() => registryRedis.disconnect()));
    const registry = new ModelRegistry({ ...registryOptionsFromConfig(config, registryRedis), logger });
    closers.push(() => registry.close());
    const client = new ScoringClient({
      connection: redis,
      prefix,
      maxJobRows: config.SCOREQ_MAX_JOB_ROWS,
      waitTimeoutMs: o.maxWaitMs,
      defaults: { resultTtlSec: config.SCOREQ_RESULT_TTL_SEC },
      onError: onBackgroundError,
    });
    closers.push(() => client.close());
    const queues = new ApiQueues(redis, prefix, onBackgroundError);
    closers.push(() => queues.close());
    const keyStore = config.SCOREQ_AUTH === 'on' ? new ApiKeyStore(redis, prefix) : null;
    if (keyStore === null) {
      logger.warn(
        'SCOREQ_AUTH=off: THE API ACCEPTS EVERY REQUEST WITHOUT A KEY, as tenant "default" with every scope (submit, read, admin). ' +
          'Anyone who can reach it can score, read every default-tenant job and replace models. Use it on a trusted machine only.',
      );
    }

    const callbackAllow = parseAllowlist(config.SCOREQ_WEBHOOK_ALLOW);
    const runsDir = await RunsDir.open(config.SCOREQ_RUNS_DIR);
    const runs = new RunManager({
      redisUrl: config.REDIS_URL,
      prefix,
      dir: runsDir,
      uploadLimitBytes: config.SCOREQ_RUN_UPLOAD_LIMIT_BYTES,
      client,
      redis,
      webhookQueue: queues.webhooks(),
      callbackAllow,
      logger,
    });
    // Closed before the queues and connections it uses (closers run newest first), after
    // Fastify has let requests in flight finish: runs stop at a chunk boundary, resumable.
    closers.push(() => runs.close());
    const adopter = new RunAdopter({ client, dir: runsDir, runs, logger, intervalMs: config.SCOREQ_RUN_ADOPT_INTERVAL_MS });
    adopter.start();
    closers.push(() => adopter.close());

    const version = packageVersion();
    const ctx: ApiContext = {
      options: o,
      client,
      registry,
      jobs: new JobAccess(client, redis, queues, prefix),
      queues,
      runs,
      runsDir,
      redis,
      callbackAllow,
      version,
    };
    // Typed as Fastify's logger interface, so route plugins see a plain FastifyInstance.
    const fastifyLogger: FastifyBaseLogger = logger;
    const app = Fastify({
      loggerInstance: fastifyLogger,
      bodyLimit: config.SCOREQ_BODY_LIMIT_BYTES,
      // One debug line per request (http-metrics.ts) instead of Fastify's two info lines.
      logController: new LogController({ disableRequestLogging: true }),
      requestIdHeader: 'x-request-id',
      // request.ip, which the per-address limits count, from X-Forwarded-For only when it
      // comes through a proxy named in SCOREQ_TRUST_PROXY.
      trustProxy: o.trustProxy === false ? false : [...o.trustProxy],
    });
    app.addHook('onClose', closeAll);
    app.setValidatorCompiler(validatorCompiler);
    // Response schemas document the answers; handlers build them field by field, so they are
    // written with plain JSON.stringify (which also turns a model's NaN into null instead of
    // failing the response).
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    registerJsonParser(app);
    registerErrorHandling(app);
    registerAuth(app, keyStore, { unauthenticatedPerMinute: config.SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN });
    if (config.SCOREQ_RATE_LIMIT_PER_MIN > 0) await registerRateLimit(app, { perMinute: config.SCOREQ_RATE_LIMIT_PER_MIN, redis, prefix });
    // Docs first: swagger lists the routes added after it.
    await registerDocs(app, version);
    registerHttpMetrics(app, metrics.registry);
    await app.register(jobRoutes(ctx));
    await app.register(modelRoutes(ctx));
    await app.register(oipRoutes(ctx));
    await app.register(runRoutes(ctx));
    await app.register(webhookRoutes(ctx));
    await app.ready();
    return app;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** A command connection that fails fast while Redis is down (no offline queue), connected now. */
async function connect(url: string, onError: (err: Error) => void): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
    onError(err);
  });
  try {
    await redis.connect();
    return redis;
  } catch (err) {
    redis.disconnect();
    throw new ScoreqError('REDIS_UNAVAILABLE', `Redis did not answer at REDIS_URL: ${(lastError ?? (err as Error)).message}`);
  }
}

function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
  return typeof version === 'string' ? version : '0.0.0';
}
