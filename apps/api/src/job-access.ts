import type { Redis } from 'ioredis';
import { DEFAULT_TENANT, keys, ScoreqError, type JobRecord, type JobStatus } from '@scoreq/contracts';
import { parseJobId, type ScoringClient } from '@scoreq/client';
import type { ApiQueues } from './bullmq-factory.js';
import type { JobView } from './schemas/jobs.js';

/** A job a tenant may see. */
export interface FoundJob {
  id: string;
  status: JobStatus;
  model: string;
  /** Once finished. */
  record?: JobRecord;
  /** While pending: the version or alias the job asked for. */
  requested?: string;
}

/**
 * Reads and cancels jobs on behalf of a tenant. Ownership comes from the job itself: the result
 * record's `tenant` once finished, the BullMQ job's data before. Another tenant's job answers
 * exactly as a job that does not exist (JOB_NOT_FOUND), so ids cannot be probed. Jobs without a
 * tenant (SDK producers that set none) belong to tenant 'default'.
 */
export class JobAccess {
  private readonly keys: ReturnType<typeof keys>;

  constructor(
    private readonly client: ScoringClient,
    private readonly redis: Redis,
    private readonly queues: ApiQueues,
    prefix: string,
  ) {
    this.keys = keys(prefix);
  }

  /** @throws ScoreqError JOB_NOT_FOUND when the job does not exist, expired, or is another tenant's. */
  async find(id: string, tenant: string): Promise<FoundJob> {
    const model = await this.knownModelOf(id);
    let record = await this.client.getResult(id);
    if (!record) {
      const job = await this.queues.get(model).getJob(id);
      if (job) {
        const data = job.data as { tenant?: unknown; version?: unknown } | undefined;
        if (ownerOf(data?.tenant) !== tenant) throw notFound(id);
        const info = await this.client.getStatus(id);
        if (info.record) return fromRecord(info.record, model);
        return typeof data?.version === 'string' ? { id, status: info.status, model, requested: data.version } : { id, status: info.status, model };
      }
      // Finished and removed between the two reads: its record is written before that.
      record = await this.client.getResult(id);
      if (!record) throw notFound(id);
    }
    if (ownerOf(record.tenant) !== tenant) throw notFound(id);
    return fromRecord(record, model);
  }

  /**
   * Cancels a job that has not started. Cancelling a cancelled job answers it again.
   *
   * @throws ScoreqError CANCEL_TOO_LATE once it is running or finished; JOB_NOT_FOUND as `find`.
   */
  async cancel(id: string, tenant: string): Promise<FoundJob> {
    const found = await this.find(id, tenant);
    if (found.status === 'cancelled') return found;
    if (found.status !== 'waiting' && found.status !== 'delayed') throw tooLate(found);
    if (await this.client.cancel(id)) {
      await this.stampTenant(id, tenant);
      return this.find(id, tenant);
    }
    const now = await this.find(id, tenant);
    if (now.status === 'cancelled') return now;
    throw tooLate(now);
  }

  /**
   * The SDK's cancel writes its `cancelled` record without the job's tenant; put it there so the
   * owner (and only the owner) still sees the job.
   */
  private async stampTenant(id: string, tenant: string): Promise<void> {
    if (tenant === DEFAULT_TENANT) return;
    const key = this.keys.result(id);
    const text = await this.redis.get(key);
    if (text === null) return;
    const record = JSON.parse(text) as Record<string, unknown>;
    if (record.tenant !== undefined) return;
    await this.redis.set(key, JSON.stringify({ ...record, tenant }), 'KEEPTTL', 'XX');
  }

  /** The model a job id names, if the catalogue knows it; JOB_NOT_FOUND otherwise. */
  private async knownModelOf(id: string): Promise<string> {
    let model: string;
    try {
      model = parseJobId(id).model;
    } catch {
      throw notFound(id);
    }
    if ((await this.redis.exists(this.keys.model(model))) !== 1) throw notFound(id);
    return model;
  }
}

export function ownerOf(tenant: unknown): string {
  return typeof tenant === 'string' && tenant !== '' ? tenant : DEFAULT_TENANT;
}

function fromRecord(record: JobRecord, model: string): FoundJob {
  return { id: record.id, status: record.status, model, record };
}

function notFound(id: string): ScoreqError {
  return new ScoreqError('JOB_NOT_FOUND', `no job ${JSON.stringify(id)} exists for this tenant (it may have expired)`, { id, field: 'id' });
}

function tooLate(job: FoundJob): ScoreqError {
  return new ScoreqError('CANCEL_TOO_LATE', `job ${job.id} is ${job.status} and can no longer be cancelled`, { id: job.id, status: job.status });
}

/** What GET /v1/jobs/:id answers. */
export function jobView(job: FoundJob): JobView {
  const r = job.record;
  if (r?.status === 'completed') {
    const { result } = r;
    return {
      id: job.id,
      status: 'completed',
      model: result.model,
      version: result.version,
      result: result.tensors ? { tensors: result.tensors } : { rows: result.rows ?? [] },
      timings: { ...result.timings },
      batch: result.batch,
      finishedAt: r.finishedAt,
    };
  }
  if (r) {
    return {
      id: job.id,
      status: r.status,
      model: r.model,
      ...(r.version === undefined ? {} : { version: r.version }),
      error: r.error.details ? { code: r.error.code, message: r.error.message, details: r.error.details } : { code: r.error.code, message: r.error.message },
      ...(r.timings === undefined ? {} : { timings: { ...r.timings } }),
      finishedAt: r.finishedAt,
    };
  }
  return { id: job.id, status: job.status, model: job.model, ...(job.requested === undefined ? {} : { version: job.requested }) };
}
