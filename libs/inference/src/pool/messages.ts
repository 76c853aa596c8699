import type { ErrorInfo, ModelSignature } from '@scoreq/contracts';
import type { WireTensor } from '../tensor.js';

/** Identifies one loaded model version in every thread: `<name>@<version>#<sha256 prefix>`. */
export type SessionKey = string;

export interface LoadTask {
  kind: 'load';
  key: SessionKey;
  path: string;
}

export interface RunTask {
  kind: 'run';
  key: SessionKey;
  /** Where the thread loads the model from if it has no session for `key` yet. */
  path: string;
  inputs: WireTensor[];
  /** Output names to fetch; all when omitted. */
  outputs?: string[];
  /** A fixed batch size when the model's batch axis is not dynamic: rows run in calls of this size. */
  fixedBatch: number | null;
  /** Sessions this thread may release (retired versions), sent along with ordinary work. */
  release?: SessionKey[];
}

/** Frees retired sessions in whichever thread takes it (threads cannot be addressed one by one). */
export interface ReleaseTask {
  kind: 'release';
  release: SessionKey[];
}

export type ThreadTask = LoadTask | RunTask | ReleaseTask;

export interface LoadReply {
  ok: true;
  signature: ModelSignature;
  loadMs: number;
}

export interface RunReply {
  ok: true;
  /** The thread that ran the task (it also released the task's `release` keys). */
  threadId?: number;
  outputs: WireTensor[];
  /** Clock of `now()` from contracts, read inside the thread around `session.run`. */
  startedAt: number;
  endedAt: number;
}

export interface FailedReply {
  ok: false;
  threadId?: number;
  error: ErrorInfo;
  startedAt: number;
  endedAt: number;
}

export interface ReleaseReply {
  ok: true;
  /** The thread that released the task's keys. */
  threadId: number;
}

export type ThreadReply = LoadReply | RunReply | ReleaseReply | FailedReply;
