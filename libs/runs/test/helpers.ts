import { Readable } from 'node:stream';
import type { ModelMetadata, ModelVersionRecord } from '@scoreq/contracts';
import type { ReadBatch, ReadRow } from '../src/index.js';

/** A version record as the catalogue publishes it, for a model fed by named features. */
export function versionRecord(metadata: ModelMetadata, width = (metadata.features ?? []).length, outputs = 2): ModelVersionRecord {
  return {
    version: '1',
    sha256: 'x',
    size: 1,
    createdAt: '2025-01-01T00:00:00.000Z',
    signature: {
      inputs: [{ name: 'input', type: 'float32', shape: ['N', width] }],
      outputs: [{ name: 'probabilities', type: 'float32', shape: ['N', outputs] }],
      batch: { dynamic: true, size: null },
    },
    metadata,
  };
}

/** A byte stream of `text`, cut into pieces of `pieceBytes` (to cross every boundary). */
export function source(text: string, pieceBytes = 7): AsyncIterable<Buffer> {
  const bytes = Buffer.from(text, 'utf8');
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += pieceBytes) pieces.push(bytes.subarray(i, i + pieceBytes));
  return Readable.from(pieces);
}

/** Every row of a reader's batches. */
export async function collect<F>(batches: AsyncIterable<ReadBatch<F>>): Promise<ReadRow<F>[]> {
  const rows: ReadRow<F>[] = [];
  for await (const b of batches) rows.push(...b.rows);
  return rows;
}

/** Deterministic pseudo-random numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
