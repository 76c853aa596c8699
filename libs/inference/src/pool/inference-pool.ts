import { Piscina } from 'piscina';
import { ScoreqError } from '@scoreq/contracts';
import type { FailedReply, LoadReply, ReleaseReply, RunReply, RunTask, SessionKey } from './messages.js';
import type { TensorData, WireTensor } from '../tensor.js';

export interface PoolOptions {
  /** Inference threads; each holds its own session per model version. */
  threads: number;
  /**
   * How long close() waits for running inference before giving up, in ms. Must exceed the
   * worst batch: stopping a thread inside `session.run` aborts the process (STACK-NOTES trap 1).
   * @defaultValue 30000
   */
  closeTimeoutMs?: number;
  /** Called when the pool reports an error outside a task (for logging). */
  onError?: (err: unknown) => void;
}

const THREAD_FILE = new URL('./thread.js', import.meta.url).href;

/**
 * A fixed-size Piscina pool running onnxruntime sessions. One task per micro-batch, never
 * per job; inputs travel as transferred typed arrays.
 */
export class InferencePool {
  readonly threads: number;
  private readonly piscina: Piscina;
  private closing: Promise<void> | undefined;
  /** Session keys being released → threads that have released them. */
  private readonly retiring = new Map<SessionKey, Set<number>>();
  private readonly onError: ((err: unknown) => void) | undefined;

  constructor(options: PoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new ScoreqError('INVALID_OPTION', `options.threads must be a positive integer, got ${options.threads}`, { field: 'threads' });
    }
    this.threads = options.threads;
    // min = max and no idle timeout: a thread killed for idling would reload every model.
    this.piscina = new Piscina({
      filename: THREAD_FILE,
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      // Tasks keep their order when no thread is free: otherwise a release task can be pushed
      // behind a later load of the same version and free the freshly warmed session.
      stricterFIFO: true,
      closeTimeout: options.closeTimeoutMs ?? 30_000,
    });
    this.onError = options.onError;
    this.piscina.on('error', (err: unknown) => options.onError?.(err));
  }

  /**
   * Loads a model version into every thread and warms it up; resolves with its signature.
   * One load task per thread is sent at once; idle threads each take one. Loading a key
   * whose release is still under way cancels that release.
   */
  async load(key: SessionKey, path: string): Promise<LoadReply> {
    this.retiring.delete(key);
    const replies = (await Promise.all(Array.from({ length: this.threads }, () => this.piscina.run({ kind: 'load', key, path })))) as (
      LoadReply | FailedReply
    )[];
    const failure = replies.find((r): r is FailedReply => !r.ok);
    if (failure) throw ScoreqError.fromInfo(failure.error);
    return replies[0] as LoadReply;
  }

  /** Runs one batch. Failures come back as values with an error code, never as throws. */
  async run(task: Omit<RunTask, 'kind' | 'release'>): Promise<RunReply | FailedReply> {
    const inputs = task.inputs.map(ownBuffer);
    const transferList = inputs.map((t) => t.data.buffer as ArrayBuffer);
    const release = this.retiring.size > 0 ? [...this.retiring.keys()] : undefined;
    const reply = (await this.piscina.run({ kind: 'run', ...task, inputs, ...(release ? { release } : {}) }, { transferList })) as RunReply | FailedReply;
    if (release && reply.threadId !== undefined) this.acknowledge(release, reply.threadId);
    return reply;
  }

  /**
   * Frees a retired model version's sessions. Threads cannot be addressed one by one, so one
   * release task per thread is sent at once (idle threads each take one, as with `load`), and
   * the key also rides along with the next batches until every thread has acknowledged it: a
   * busy thread that missed its release task still frees the session with its next batch.
   * Call once no batch of the key is in flight. A later batch of the key still runs: its
   * thread loads the session again (cold), so call `release` again after it; `load` revives
   * the key in every thread instead. Resolves once the release tasks are answered; never rejects.
   */
  async release(key: SessionKey): Promise<void> {
    this.retiring.set(key, new Set());
    await Promise.all(Array.from({ length: this.threads }, () => this.sendRelease([key])));
  }

  /** Retired keys some thread has not released yet. */
  get releasing(): number {
    return this.retiring.size;
  }

  private async sendRelease(keys: SessionKey[]): Promise<void> {
    if (this.closing) return;
    try {
      const reply = (await this.piscina.run({ kind: 'release', release: keys })) as ReleaseReply;
      this.acknowledge(keys, reply.threadId);
    } catch (err) {
      // A pool closing under the task takes the sessions with its threads.
      if (!this.closing) this.onError?.(err);
    }
  }

  private acknowledge(keys: SessionKey[], threadId: number): void {
    for (const key of keys) {
      const seen = this.retiring.get(key);
      if (!seen) continue;
      seen.add(threadId);
      if (seen.size >= this.threads) this.retiring.delete(key);
    }
  }

  /** Share of the pool's capacity in use since it started, 0..1. */
  get utilization(): number {
    return this.piscina.utilization;
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /** Waits for running tasks, then stops the threads. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.piscina.close();
    return this.closing;
  }
}

/**
 * Transferring a view moves its whole buffer: a tensor that is a view into a larger (or
 * shared) buffer is copied first, so the caller's other views stay usable.
 */
function ownBuffer(t: WireTensor): WireTensor {
  const { data } = t;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return t;
  return { ...t, data: data.slice() as TensorData };
}
