import { CommanderError } from 'commander';
import { isErrorCode, type ErrorCode } from '@scoreq/contracts';

/** Codes that mean "you invoked scoreq wrongly": exit 2, like a usage error. */
const USAGE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(['CONFIG_INVALID', 'INVALID_OPTION']);

/** A ScoreqError, or one that lost its class crossing a thread or Redis: a catalogue `code` and a message. */
function asCodedError(err: unknown): { code: ErrorCode; message: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return isErrorCode(code) ? { code, message: typeof message === 'string' ? message : String(err) } : undefined;
}

/**
 * The edge where errors become CLI output and an exit code, the one place that decides it:
 * - a scoreq error prints `error [CODE]: message`, exit 2 for CONFIG_INVALID and
 *   INVALID_OPTION, 1 for the rest, never a stack;
 * - a commander error was already printed by commander: exit 0 for help and version,
 *   2 for usage mistakes;
 * - anything else is a bug or an unforeseen failure: printed with its stack, exit 1.
 */
export function reportError(err: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  const coded = asCodedError(err);
  if (coded) {
    write(`error [${coded.code}]: ${coded.message}\n`);
    return USAGE_ERROR_CODES.has(coded.code) ? 2 : 1;
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  write(`error [INTERNAL]: unexpected failure, please report it:\n${detail}\n`);
  return 1;
}
