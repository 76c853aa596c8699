import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScoreqError } from '@scoreq/contracts';
import type { Logger } from '@scoreq/telemetry';
import { trackChild } from './child-reaper.js';
import { freeLoopbackPort } from './free-port.js';
import { failureReason, pingRedis, redactUrl, requireRedis } from './ping.js';

/** Options of {@link ensureRedis}. */
export interface EnsureRedisOptions {
  /**
   * A Redis to use as is, normally `REDIS_URL`. When set (and not empty) nothing is probed
   * or started: it must answer PING or ensureRedis fails naming it.
   */
  url?: string | undefined;
  logger: Logger;
  /** Redis tried when `url` is unset, before starting one. @defaultValue 'redis://127.0.0.1:6379' */
  probeUrl?: string;
  /** redis-server executable, a name on PATH or a path. @defaultValue 'redis-server' */
  binary?: string;
  /** Milliseconds a started redis-server has to answer PING. @defaultValue 10000 */
  startTimeoutMs?: number;
  /** Milliseconds one PING (connect included) may take. @defaultValue 1000 */
  pingTimeoutMs?: number;
  /** Milliseconds stop() waits after SIGTERM before it sends SIGKILL. @defaultValue 5000 */
  stopTimeoutMs?: number;
}

type ResolvedOptions = Readonly<Required<Omit<EnsureRedisOptions, 'url'>> & { url: string | undefined }>;

const DEFAULTS = {
  probeUrl: 'redis://127.0.0.1:6379',
  binary: 'redis-server',
  startTimeoutMs: 10_000,
  pingTimeoutMs: 1_000,
  stopTimeoutMs: 5_000,
} as const;

/** A Redis that answers PING, and how to let go of it. */
export interface RedisHandle {
  /** Connection URL to hand to clients and workers. */
  readonly url: string;
  /** True when ensureRedis started this Redis (and stop() will shut it down). */
  readonly started: boolean;
  /** Process id of the started redis-server; undefined for a Redis found running. */
  readonly pid: number | undefined;
  /** Temp working directory of the started redis-server; removed by stop(). */
  readonly dir: string | undefined;
  /**
   * Shuts down a started redis-server (SIGTERM, SIGKILL after `stopTimeoutMs`), waits for
   * it to exit and removes its directory. Does nothing for a Redis found running.
   * Idempotent.
   */
  stop(): Promise<void>;
}

/** How many times to pick a new port when another process took the one chosen. */
const PORT_ATTEMPTS = 3;
/** Lines of redis-server output kept to explain a failed start. */
const OUTPUT_TAIL_LINES = 20;

/**
 * Finds or starts a Redis for the CLI:
 * 1. `url` set: use it, after checking it answers PING;
 * 2. else a Redis answering at `probeUrl` (127.0.0.1:6379);
 * 3. else a private `redis-server` on a free loopback port, without persistence, in a temp
 *    dir, killed when the CLI exits.
 *
 * @throws ScoreqError CONFIG_INVALID when `url` is not a redis URL; REDIS_UNAVAILABLE when
 *   `url` does not answer, when redis-server is not installed (the message says how to
 *   install it) or when it fails to start.
 *
 * @example
 * ```ts
 * const redis = await ensureRedis({ url: process.env.REDIS_URL, logger });
 * try { await work(redis.url); } finally { await redis.stop(); }
 * ```
 */
export async function ensureRedis(options: EnsureRedisOptions): Promise<RedisHandle> {
  const opts = resolveOptions(options);
  const { logger } = opts;

  if (opts.url !== undefined) {
    await requireRedis(opts.url, opts.pingTimeoutMs, 'Start it, fix REDIS_URL, or unset REDIS_URL to let scoreq start a local redis-server.');
    logger.info({ url: redactUrl(opts.url) }, 'using Redis from REDIS_URL');
    return foundRedis(opts.url);
  }

  try {
    await pingRedis(opts.probeUrl, opts.pingTimeoutMs);
    logger.info({ url: opts.probeUrl }, 'using the Redis answering on the default address');
    return foundRedis(opts.probeUrl);
  } catch (err) {
    // Expected on a machine without a running Redis: the next step starts one.
    logger.debug({ url: opts.probeUrl, reason: failureReason(err) }, 'no Redis on the default address');
  }

  return startRedisServer(opts);
}

function resolveOptions(options: EnsureRedisOptions): ResolvedOptions {
  const url = options.url === undefined || options.url === '' ? undefined : options.url;
  if (url !== undefined) assertRedisUrl('REDIS_URL', url);
  const opts = {
    logger: options.logger,
    url,
    probeUrl: options.probeUrl ?? DEFAULTS.probeUrl,
    binary: options.binary ?? DEFAULTS.binary,
    startTimeoutMs: options.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
    pingTimeoutMs: options.pingTimeoutMs ?? DEFAULTS.pingTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs ?? DEFAULTS.stopTimeoutMs,
  };
  assertRedisUrl('probeUrl', opts.probeUrl);
  for (const key of ['startTimeoutMs', 'pingTimeoutMs', 'stopTimeoutMs'] as const) {
    if (!Number.isFinite(opts[key]) || opts[key] <= 0) {
      throw new ScoreqError('INVALID_OPTION', `options.${key} must be a positive number of milliseconds, got ${String(opts[key])}`, { field: key });
    }
  }
  return Object.freeze(opts);
}

function assertRedisUrl(name: string, url: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new ScoreqError('CONFIG_INVALID', `${name}=${redactUrl(url)} is not a redis:// or rediss:// URL`, { variables: [name] });
  }
}

function foundRedis(url: string): RedisHandle {
  return { url, started: false, pid: undefined, dir: undefined, stop: () => Promise.resolve() };
}

function missingBinaryError(opts: ResolvedOptions): ScoreqError {
  return new ScoreqError(
    'REDIS_UNAVAILABLE',
    `scoreq needs Redis: nothing answers at ${opts.probeUrl} and '${opts.binary}' is not installed (not found on PATH). ` +
      `Install it — Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis — ` +
      `or set REDIS_URL to a Redis you run, e.g. REDIS_URL=redis://my-host:6379.`,
    { binary: opts.binary },
  );
}

async function startRedisServer(opts: ResolvedOptions): Promise<RedisHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'scoreq-redis-'));
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      const outcome = await launch(opts, port, dir);
      if (outcome.handle) return outcome.handle;
      if (!outcome.portTaken || attempt >= PORT_ATTEMPTS) throw outcome.error;
      opts.logger.debug({ port }, 'port taken before redis-server bound it; trying another');
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

type LaunchOutcome = { handle: RedisHandle; error?: undefined; portTaken?: undefined } | { handle?: undefined; error: ScoreqError; portTaken: boolean };

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

async function launch(opts: ResolvedOptions, port: number, dir: string): Promise<LaunchOutcome> {
  const { logger } = opts;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--loglevel', 'warning'];
  const child = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missingBinaryError(opts);
    throw new ScoreqError('REDIS_UNAVAILABLE', `could not run '${opts.binary}': ${failureReason(err)}`, { binary: opts.binary });
  }
  const untrack = trackChild(child, dir);
  const url = `redis://127.0.0.1:${port}`;

  const ready = await waitUntilAnswering(url, exited, opts);
  if (ready !== 'ready') {
    if (ready === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
    untrack();
    const tail = output();
    const why = ready === 'timeout' ? `did not answer PING within ${opts.startTimeoutMs} ms` : `exited (${describeExit(await exited)}) before answering PING`;
    return {
      portTaken: /address already in use/i.test(tail),
      error: new ScoreqError('REDIS_UNAVAILABLE', `redis-server on port ${port} ${why}${tail ? `; its output:\n${tail}` : ''}`, { port }),
    };
  }
  logger.info({ url, pid: child.pid, dir }, 'started a private redis-server');

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const escalate = setTimeout(() => child.kill('SIGKILL'), opts.stopTimeoutMs);
      try {
        await exited;
      } finally {
        clearTimeout(escalate);
      }
    }
    untrack();
    await rm(dir, { recursive: true, force: true });
    logger.info({ url }, 'stopped the private redis-server');
  };
  return {
    handle: {
      url,
      started: true,
      pid: child.pid,
      dir,
      stop: () => (stopping ??= stop()),
    },
  };
}

/**
 * Polls PING with a short, growing pause (10 → 100 ms) until the server answers, exits or
 * the start timeout passes. Each pause also ends early when the process exits.
 */
async function waitUntilAnswering(url: string, exited: Promise<Exit>, opts: ResolvedOptions): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + opts.startTimeoutMs;
  const exitedFlag = exited.then(() => 'exited' as const);
  let pause = 10;
  for (;;) {
    const outcome = await Promise.race([
      pingRedis(url, Math.min(opts.pingTimeoutMs, Math.max(1, deadline - Date.now()))).then(
        () => 'ready' as const,
        () => 'retry' as const,
      ),
      exitedFlag,
    ]);
    if (outcome !== 'retry') return outcome;
    if (Date.now() + pause >= deadline) return 'timeout';
    const after = await Promise.race([sleep(pause).then(() => 'slept' as const), exitedFlag]);
    if (after === 'exited') return after;
    pause = Math.min(pause * 2, 100);
  }
}

function describeExit(exit: Exit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

/** Keeps the last lines of the child's stdout and stderr; also keeps the pipes drained. */
function collectOutput(child: ChildProcess): () => string {
  const lines: string[] = [];
  const push = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > OUTPUT_TAIL_LINES) lines.shift();
    }
  };
  child.stdout?.on('data', push);
  child.stderr?.on('data', push);
  return () => lines.join('\n');
}
