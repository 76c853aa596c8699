import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { seededRandom } from '@scoreq/onnx-builder';

/**
 * Writes a seeded CSV of `rows` rows: an `id` column, then one column per feature with values
 * in [-2, 2] at three decimals (the shape of an exported feature table). Streams in ~1 MB
 * pieces, so memory stays small however many rows.
 */
export async function writeBulkCsv(path: string, features: readonly string[], rows: number, seed: number): Promise<number> {
  const out = createWriteStream(path);
  const next = seededRandom(seed);
  let text = `id,${features.join(',')}\n`;
  let bytes = 0;
  for (let r = 0; r < rows; r++) {
    text += `r${r}`;
    for (let f = 0; f < features.length; f++) text += `,${Math.round((next() * 4 - 2) * 1000) / 1000}`;
    text += '\n';
    if (text.length > 1 << 20) {
      bytes += text.length;
      if (!out.write(text)) await once(out, 'drain');
      text = '';
    }
  }
  bytes += text.length;
  out.end(text);
  await once(out, 'finish');
  return bytes;
}

/** The same values as {@link writeBulkCsv}'s features (float32, row-major), for the raw baseline. */
export function bulkMatrix(width: number, rows: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(rows * width);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((next() * 4 - 2) * 1000) / 1000;
  return out;
}
