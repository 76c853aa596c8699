import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';

/** A parsed log line. */
export type LogLine = Record<string, unknown>;

/**
 * A stream to hand to `createLogger({ destination })` and read lines back from, one JSON
 * object at a time (after pino's `test/helper.js` `sink()`). `next()` waits for the next
 * line to be written, so tests wait on the logger, not on time.
 */
export function sink(): { stream: PassThrough; next(): Promise<LogLine> } {
  const stream = new PassThrough();
  const lines = createInterface({ input: stream })[Symbol.asyncIterator]();
  return {
    stream,
    async next() {
      const line = await lines.next();
      if (line.done) throw new Error('the log stream ended before another line was written');
      return JSON.parse(line.value) as LogLine;
    },
  };
}
