import { loadConfig, type EnvConfig } from '@scoreq/contracts';
import { createLogger } from '@scoreq/telemetry';
import { startWorker, type ScoringWorker } from '@scoreq/worker';
import { redisUrl } from './redis.js';

/** Configuration for an in-process test worker on its own prefix and models directory. */
export function testConfig(prefix: string, modelsDir: string, overrides: Partial<EnvConfig> = {}): EnvConfig {
  return {
    ...loadConfig({}),
    REDIS_URL: redisUrl(),
    SCOREQ_PREFIX: prefix,
    SCOREQ_MODEL_SOURCE: 'directory',
    SCOREQ_MODELS_DIR: modelsDir,
    SCOREQ_METRICS_PORT: 0,
    SCOREQ_METRICS_HOST: '127.0.0.1',
    SCOREQ_POOL_THREADS: 2,
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

export function startTestWorker(config: EnvConfig, models?: string[]): Promise<ScoringWorker> {
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', service: 'test-worker' });
  return startWorker(models ? { config, models, logger } : { config, logger });
}

/** Reads one metric's samples from the worker's /metrics text. */
export async function scrape(worker: ScoringWorker): Promise<string> {
  const response = await fetch(`${worker.metricsUrl}/metrics`);
  return response.text();
}

export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
