import { splitLines } from './lines.js';
import type { JsonFields, ReadBatch, ReadRow } from './read-row.js';

/** Options of {@link readJsonl}. */
export interface JsonlReaderOptions {
  /** Longest line in characters; longer ones are rejected without being held in memory. */
  maxLineLength: number;
}

/**
 * Reads JSON Lines as a stream: one JSON object per line, blank lines skipped. A line that is
 * not a JSON object, or is too long, comes out as a per-row error with its line number.
 */
export async function* readJsonl(source: AsyncIterable<Buffer | string>, options: JsonlReaderOptions): AsyncGenerator<ReadBatch<JsonFields>> {
  for await (const batch of splitLines(source, options.maxLineLength)) {
    const rows: ReadRow<JsonFields>[] = [];
    for (const l of batch.lines) {
      if (l.tooLong !== undefined) {
        rows.push({ line: l.line, error: `line is ${l.tooLong} characters long; the limit is ${options.maxLineLength} (maxLineLength)` });
        continue;
      }
      if (l.text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(l.text);
      } catch (err) {
        rows.push({ line: l.line, error: `invalid JSON: ${(err as Error).message}` });
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        rows.push({ line: l.line, error: `is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}, not a JSON object` });
        continue;
      }
      rows.push({ line: l.line, fields: value as JsonFields });
    }
    if (rows.length > 0) yield { rows, bytesRead: batch.bytesRead };
  }
}
