import { InferencePool } from '@scoreq/inference';

/**
 * The `raw` baseline (BENCHMARKS.md): onnxruntime in this process through the same Piscina pool
 * scoreq uses, `threads` threads, batches of `batchRows` rows (a run chunk is one batch in the
 * worker), `inFlight` batches at once; no queue, no files. Resolves with rows per second.
 */
export async function runRawBaseline(path: string, matrix: Float32Array, width: number, batchRows: number, threads: number, inFlight: number): Promise<number> {
  const pool = new InferencePool({ threads });
  try {
    const key = 'bulk-raw';
    const { signature } = await pool.load(key, path);
    const input = signature.inputs[0]!.name;
    const rows = matrix.length / width;
    const runBatch = async (from: number): Promise<void> => {
      const n = Math.min(batchRows, rows - from);
      const data = matrix.slice(from * width, (from + n) * width);
      const reply = await pool.run({ key, path, inputs: [{ name: input, type: 'float32', dims: [n, width], data }], fixedBatch: null });
      if (!reply.ok) throw new Error(`raw baseline batch failed: ${reply.error.code}: ${reply.error.message}`);
    };
    // Warm-up: one batch per thread.
    await Promise.all(Array.from({ length: threads }, () => runBatch(0)));
    let next = 0;
    const started = performance.now();
    const lane = async (): Promise<void> => {
      while (next < rows) {
        const from = next;
        next += batchRows;
        await runBatch(from);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return rows / ((performance.now() - started) / 1000);
  } finally {
    await pool.close();
  }
}
