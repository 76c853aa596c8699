import type { Redis } from 'ioredis';
import { now, ScoreqError } from '@scoreq/contracts';
import { describeRun, type RunInfo } from '@scoreq/client';
import { RUN_DEFAULTS, type RunFinishedHook } from './options.js';
import { RunStateStore } from './run-state.js';

/**
 * Calls `hook` with an ended run's state unless its finish was announced already, by this
 * process or another (the claim is a flag in the run hash). When the hook fails, the claim is
 * given back so that a later attempt announces it.
 *
 * @returns true when this call announced the finish.
 * @throws ScoreqError INTERNAL when the hook failed (the run's own state is final regardless).
 */
export async function announceFinish(store: RunStateStore, info: RunInfo, hook: RunFinishedHook): Promise<boolean> {
  if (info.status === 'running') return false;
  const token = `${info.status}:${info.finishedAt ?? ''}`;
  if (!(await store.claimFinishNotice(info.id, token))) return false;
  try {
    await hook(info);
    return true;
  } catch (err) {
    const released = await store.releaseFinishNotice(info.id, token).then(
      () => true,
      () => false,
    );
    const retry = released ? '; start the run again with the same id to retry' : ' (and its claim could not be given back)';
    throw new ScoreqError('INTERNAL', `run ${info.id} ${info.status}, but announcing it failed: ${(err as Error).message}${retry}`, {
      id: info.id,
      status: info.status,
    });
  }
}

/** Options of {@link announceRunFinished}. */
export interface AnnounceOptions {
  /** A command connection; not closed. */
  redis: Redis;
  /** Key prefix (SCOREQ_PREFIX). @defaultValue 'scoreq' */
  prefix?: string;
  id: string;
  onFinished: RunFinishedHook;
}

/**
 * Announces a run's finish from outside its producer, e.g. after `client.runs.cancel(id)` of a
 * run whose producer is gone (a live producer would announce it itself; whoever comes first
 * does, once).
 *
 * @returns true when this call announced it; false when the run is unknown, still running, or
 * was announced already.
 */
export async function announceRunFinished(options: AnnounceOptions): Promise<boolean> {
  const store = new RunStateStore(options.redis, options.prefix ?? RUN_DEFAULTS.prefix);
  const state = await store.load(options.id);
  if (!state || state.status === 'running') return false;
  return announceFinish(store, describeRun(state, now()), options.onFinished);
}
