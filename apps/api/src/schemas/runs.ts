import { Readable } from 'node:stream';
import { z } from 'zod';
import { RUN_ID } from '@scoreq/contracts';
import { versionRef } from './common.js';

const runId = z.string().regex(RUN_ID, '1-64 of [A-Za-z0-9_-]');
const format = z.enum(['csv', 'jsonl']);
const modelRef = z.string().min(1).max(130).describe('Model, optionally with a version number or alias: "churn", "churn@3", "churn@staging"');
const callbackUrl = z
  .url({ protocol: /^https?$/ })
  .describe(
    'http(s) URL that receives the signed run.completed / run.failed / run.cancelled webhook; private, loopback and metadata addresses are refused (CALLBACK_URL_REFUSED) unless SCOREQ_WEBHOOK_ALLOW permits them',
  );
const chunkRows = z.number().int().min(1).max(1_000_000).describe('Rows per chunk job (default 1024)');
const maxRejectRate = z.number().min(0).max(1).describe('Largest share of bad rows before the run stops as failed (default 0.05)');

export const runIdParams = z.object({ id: runId.describe('Run id') });

/** POST /v1/runs with a JSON body: files already in SCOREQ_RUNS_DIR. */
export const startRunBody = z
  .object({
    model: modelRef,
    version: versionRef.optional(),
    input: z.string().min(1).describe('Input .csv, .jsonl or .ndjson file, relative to SCOREQ_RUNS_DIR'),
    output: z.string().min(1).describe('Output file, relative to SCOREQ_RUNS_DIR (rejects go to <output>.rejects.csv)'),
    inputFormat: format.optional().describe('Input format when the extension does not say it'),
    outputFormat: format.optional().describe('Output format when the extension does not say it'),
    id: runId.optional().describe("Run id (default: a new one). The id of the tenant's unfinished run resumes it: send the same options again"),
    chunkRows: chunkRows.optional(),
    passThrough: z.array(z.string().min(1)).optional().describe('Input columns copied in front of the predictions, e.g. an id'),
    callbackUrl: callbackUrl.optional(),
    maxRejectRate: maxRejectRate.optional(),
  })
  .strict()
  .describe('A run on files already in SCOREQ_RUNS_DIR (send the input itself as a text/csv or application/x-ndjson body instead to upload it)');

export type StartRunBody = z.infer<typeof startRunBody>;

/** POST /v1/runs with an uploaded body: the options travel in the query string. */
export const uploadQuery = z
  .object({
    model: modelRef.optional().describe('Required with an uploaded body. ' + (modelRef.description ?? '')),
    version: versionRef.optional(),
    format: format.optional().describe('Format of the uploaded body; must agree with its Content-Type (text/csv: csv; application/x-ndjson: jsonl)'),
    outputFormat: format.optional().describe('Output format (default: the input format)'),
    id: runId.optional().describe('Run id of the new run (default: a new one)'),
    chunkRows: z.coerce.number().pipe(chunkRows).optional(),
    passThrough: z.string().min(1).optional().describe('Comma-separated input columns copied in front of the predictions'),
    callbackUrl: callbackUrl.optional(),
    maxRejectRate: z.coerce.number().pipe(maxRejectRate).optional(),
  })
  .strict();

export type UploadQuery = z.infer<typeof uploadQuery>;

const errorInfo = z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() });

/** A run as GET /v1/runs/:id answers it. */
const runStatus = z.enum(['running', 'completed', 'failed', 'cancelled']);

export const runView = z.object({
  id: z.string(),
  status: runStatus,
  model: z.string(),
  versionRef: z.string().describe('The version or alias the run asked for'),
  version: z.string().describe('The exact version pinned when the run started; every row is scored by it'),
  input: z.string().describe('Paths relative to SCOREQ_RUNS_DIR (absolute for runs started elsewhere)'),
  output: z.string(),
  rejects: z.string(),
  inputFormat: format,
  outputFormat: format,
  total: z.number().optional().describe('Rows in the input, once read to the end'),
  done: z.number().describe('Rows scored and written'),
  failed: z.number().describe('Rows of chunks that failed in a worker'),
  rejected: z.number().describe('Bad input rows'),
  processed: z.number().describe('done + failed + rejected'),
  expectedTotal: z.number().optional(),
  fraction: z.number().optional().describe('Share finished, 0..1'),
  rowsPerSec: z.number(),
  etaSec: z.number().optional(),
  producerAlive: z.boolean().describe('False when the run is running but its producer stopped (resume it with POST /v1/runs and its id)'),
  startedAt: z.string().describe('ISO 8601'),
  finishedAt: z.string().optional(),
  error: errorInfo.optional().describe('Why the run failed or was cancelled'),
  links: z.object({ self: z.string(), output: z.string(), rejects: z.string() }),
});

export type RunView = z.infer<typeof runView>;

/** A file download (output or rejects). */
export const runFileBody = z
  .custom<Readable>((v) => v instanceof Readable, 'a file stream')
  .meta({ type: 'string', format: 'binary', description: 'The file: CSV or JSON lines' });

/** GET /v1/runs */
export const listRunsQuery = z.object({ status: runStatus.optional().describe('Only runs in this state') }).strict();

export const runList = z.object({ runs: z.array(runView).describe("The tenant's runs whose state is still kept, newest first") });
