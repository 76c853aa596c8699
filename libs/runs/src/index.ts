/**
 * `@scoreq/runs` — overnight scoring runs: millions of rows from a CSV or JSONL file to a file,
 * streamed through a model's bulk queue in binary chunks, in input order, resumable, with bad
 * rows in a rejects file. Status, wait and cancel work from any machine through
 * `client.runs` of `@scoreq/client`.
 *
 * @example
 * ```ts
 * import { startRun, createProgress } from '@scoreq/runs';
 *
 * const progress = createProgress();
 * const run = await startRun({
 *   connection: 'redis://127.0.0.1:6379',
 *   model: 'churn@production',
 *   input: 'customers.csv',
 *   output: 'scores.csv',
 *   passThrough: ['customer_id'],
 *   id: 'nightly-2025-01-01', // the same id again resumes after a crash
 *   onProgress: (info) => progress.update(info),
 * });
 * const final = await run.finished;
 * progress.stop(final);
 * console.log(final.status, final.done, final.rejected); // completed 999812 188
 * ```
 *
 * @packageDocumentation
 */
export { startRun, newRunId } from './start-run.js';
export type { RunHandle } from './start-run.js';
export { RUN_DEFAULTS, resolveRunOptions, parseModelRef, formatOf } from './options.js';
export type { RunOptions, ResolvedRunOptions, RunFinishedHook } from './options.js';
export { announceRunFinished } from './finish-notice.js';
export type { AnnounceOptions } from './finish-notice.js';
export { createProgress, describeProgress } from './progress.js';
export type { Progress, ProgressOptions } from './progress.js';
export { openCsv } from './readers/csv.js';
export type { CsvInput, CsvReaderOptions } from './readers/csv.js';
export { readJsonl } from './readers/jsonl.js';
export type { JsonlReaderOptions } from './readers/jsonl.js';
export { csvFieldsOf } from './readers/read-row.js';
export type { ReadRow, ReadBatch, CsvFields, JsonFields } from './readers/read-row.js';
export { Chunker } from './chunker.js';
export type { Chunk, ChunkerOptions } from './chunker.js';
export { CsvRowEncoder, JsonRowEncoder } from './row-encoder.js';
export type { RowEncoder, RowProblem } from './row-encoder.js';
export { OrderedWriter, writeAt } from './ordered-writer.js';
export type { ChunkOutcome, OrderedWriterOptions, PendingChunk, WriterPosition } from './ordered-writer.js';
export { OutputRows } from './output-rows.js';
export { formatNumber } from './number-format.js';
export { REJECTS_HEADER, formatRejects } from './rejects.js';
export type { Reject } from './rejects.js';
export { CHUNK_JOB_NAME } from './bullmq-factory.js';
