import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { featureSpecs, type ModelVersionRecord } from '@scoreq/contracts';
import { Chunker, CsvRowEncoder, openCsv, OutputRows, writeAt } from '@scoreq/runs';
import { seededRandom } from '@scoreq/onnx-builder';

/**
 * The `io` baseline (BENCHMARKS.md): the same input file read, parsed into feature chunks and
 * its rows formatted and written with the same code as a run (`@scoreq/runs` reader, chunker,
 * output rows), in process: no queue, no Redis, no scoring. Predictions are drawn values of the
 * same shape, so formatting costs what it costs in a run. Resolves with the rows written.
 */
export async function runIoBaseline(input: string, output: string, version: ModelVersionRecord, outputWidth: number, chunkRows: number): Promise<number> {
  const csv = await openCsv(createReadStream(input, { highWaterMark: 256 * 1024 }), { maxLineLength: 1 << 20 });
  const chunker = new Chunker({ chunkRows, encoder: new CsvRowEncoder(csv.columns, featureSpecs(version.metadata), version, ['id']) });
  const rows = new OutputRows('csv', version.metadata, 'probabilities', ['id']);
  const next = seededRandom(5);
  const predictions = Float32Array.from({ length: chunkRows * outputWidth }, () => next());
  const file = await open(output, 'w');
  let bytes = 0;
  let written = 0;
  try {
    const write = async (c: ReturnType<Chunker<unknown>['finish']>): Promise<void> => {
      if (!c || c.rows === 0) return;
      const text = (bytes === 0 ? rows.header(outputWidth) : '') + rows.format(c.passThrough, predictions, outputWidth, c.rows);
      bytes += await writeAt(file, text, bytes);
      written += c.rows;
    };
    let read = 0;
    for await (const batch of csv.batches) {
      read = batch.bytesRead;
      for (const row of batch.rows) await write(chunker.push(row, read));
    }
    await write(chunker.finish(read));
  } finally {
    await file.close();
  }
  return written;
}
