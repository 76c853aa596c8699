import type { ModelAliasMove, ModelVersionRecord } from '@scoreq/contracts';
import type { ValidationReport } from './validation-report.js';

export interface PushOptions {
  /** User metadata (a metadata.json's content), checked against the model. @defaultValue {} */
  metadata?: unknown;
  /** Who registers the version. @defaultValue `$USER@hostname` */
  author?: string;
  comment?: string;
}

export interface PushResult {
  model: string;
  version: ModelVersionRecord;
  /** Versions retention deleted in the same change. */
  removed: string[];
}

export interface MoveOptions {
  /** @defaultValue 'production' */
  alias?: string;
  /** Who moves the alias, recorded in the history. @defaultValue `$USER@hostname` */
  by?: string;
  /** Why, recorded in the history. @defaultValue '' */
  reason?: string;
}

export interface PromoteOptions extends MoveOptions {
  /** Move the alias without validating the version first. @defaultValue false */
  force?: boolean;
}

/** An alias move as stored, with the validation report of a promotion. */
export interface AliasChange {
  model: string;
  move: ModelAliasMove;
  /** Absent for rollbacks, removals and forced promotions. */
  report?: ValidationReport;
}
