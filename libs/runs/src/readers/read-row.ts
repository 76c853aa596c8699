/**
 * What a reader yields per input record: its fields, or why it is unusable. Bad rows are values,
 * not exceptions, so one bad line never stops a run; the chunker turns them into rejects.
 */
export type ReadRow<F> = { readonly line: number; readonly fields: F; readonly error?: undefined } | { readonly line: number; readonly error: string };

/**
 * The rows of one input buffer, with how far into the input they reach. Readers yield rows in
 * batches because a promise per row would cost more than parsing the row.
 */
export interface ReadBatch<F> {
  readonly rows: ReadRow<F>[];
  /** Input bytes consumed so far (for progress through a file). */
  readonly bytesRead: number;
}

/**
 * A CSV record: a line without any quote, not yet split (its consumer splits it on `,` in the
 * same pass that reads its values: splitting it here would allocate a string per field, the
 * largest cost of reading a numeric file), or the fields csv-parse read from a quoted record,
 * already checked against the header's column count. Use {@link csvFieldsOf} for an array.
 */
export type CsvFields = string | readonly string[];

/** A CSV record's fields as an array. */
export function csvFieldsOf(record: CsvFields): readonly string[] {
  return typeof record === 'string' ? record.split(',') : record;
}
/** A JSONL record: one JSON object per line. */
export type JsonFields = Record<string, unknown>;
