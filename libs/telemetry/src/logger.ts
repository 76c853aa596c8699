import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { ScoreqError } from '@scoreq/contracts';

export type { DestinationStream, Logger };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /**
   * Lowest level written: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.
   * @defaultValue 'info'
   */
  level?: string;
  /**
   * Name of the process writing, put in every line as `service`.
   * @defaultValue 'scoreq'
   */
  service?: string;
  /**
   * Where lines go. Tests pass a stream to read them back.
   * @defaultValue pino's own stdout destination
   */
  destination?: DestinationStream;
}

const LOGGER_DEFAULTS = Object.freeze({ level: 'info', service: 'scoreq' });

// pino's own level names, plus 'silent' which it accepts but does not list.
const LEVELS: ReadonlySet<string> = new Set([...Object.keys(pino.levels.values), 'silent']);

/**
 * Creates the JSON logger every scoreq process uses: one JSON object a line, with `level`
 * (pino's number), `time` (ISO 8601), `service`, `pid` and `msg`. The library never
 * pretty-prints; pipe through `pino-pretty` to read logs by eye.
 *
 * @throws ScoreqError `INVALID_OPTION` when `level` is not a pino level.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? LOGGER_DEFAULTS.level;
  const service = opts.service ?? LOGGER_DEFAULTS.service;
  if (!LEVELS.has(level)) {
    throw new ScoreqError('INVALID_OPTION', `options.level must be one of ${[...LEVELS].join(', ')}; got ${JSON.stringify(level)}`, {
      option: 'level',
    });
  }
  const options = {
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
