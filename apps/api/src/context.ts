import type { Redis } from 'ioredis';
import type { ScoringClient } from '@scoreq/client';
import type { ModelRegistry } from '@scoreq/registry';
import type { Allowlist } from '@scoreq/webhooks';
import type { ApiQueues } from './bullmq-factory.js';
import type { JobAccess } from './job-access.js';
import type { ResolvedApiOptions } from './options.js';
import type { RunManager } from './runs/run-manager.js';
import type { RunsDir } from './runs/runs-dir.js';

/** What route plugins work with; built once by `buildApi`. */
export interface ApiContext {
  readonly options: ResolvedApiOptions;
  /** Submits, waits for and cancels jobs, as SDK users do. */
  readonly client: ScoringClient;
  /** Model records, uploads, validation, aliases. */
  readonly registry: ModelRegistry;
  /** Jobs as a tenant sees them. */
  readonly jobs: JobAccess;
  readonly queues: ApiQueues;
  /** Overnight runs this API produces, reads and cancels. */
  readonly runs: RunManager;
  /** SCOREQ_RUNS_DIR: where runs started over HTTP keep their files. */
  readonly runsDir: RunsDir;
  /** The API's command connection (fails fast while Redis is down). */
  readonly redis: Redis;
  /** Private hosts and networks callback URLs may reach (SCOREQ_WEBHOOK_ALLOW). */
  readonly callbackAllow: Allowlist;
  /** Version of the API package, for the OIP server metadata. */
  readonly version: string;
}
