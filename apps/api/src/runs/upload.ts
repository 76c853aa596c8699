import { createWriteStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { apiError } from '../errors.js';

/** Content types a run's input may be uploaded as, and the format each names. */
export const UPLOAD_TYPES = Object.freeze({
  'text/csv': 'csv',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
} as const);

export type UploadType = keyof typeof UPLOAD_TYPES;

export function isUploadType(type: string): type is UploadType {
  return Object.hasOwn(UPLOAD_TYPES, type);
}

/** The media type of a Content-Type header, lower case and without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Streams an uploaded body to `path`, never holding more than a stream buffer of it: bodies may
 * be gigabytes. Refused with BODY_TOO_LARGE as soon as it passes `limitBytes` (before reading
 * when Content-Length says so already).
 *
 * @returns the bytes written.
 */
export async function receiveUpload(body: Readable, path: string, limitBytes: number, contentLength: number | undefined): Promise<number> {
  if (contentLength !== undefined && contentLength > limitBytes) throw tooLarge(limitBytes);
  const counter = new ByteLimit(limitBytes);
  await pipeline(body, counter, createWriteStream(path));
  return counter.bytes;
}

/** Passes bytes through and fails once more than `limit` have passed. */
class ByteLimit extends Transform {
  bytes = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) callback(tooLarge(this.limit));
    else callback(null, chunk);
  }
}

function tooLarge(limit: number): Error {
  return apiError('BODY_TOO_LARGE', `the uploaded file is larger than ${limit} bytes (SCOREQ_RUN_UPLOAD_LIMIT_BYTES)`, { limit });
}
