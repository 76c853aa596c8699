import { REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { runBulk } from '../bulk/run-bulk.js';
import type { Scenario } from '../scenario.js';

/** 100,000 rows scored by the large MLP, against raw onnxruntime with the same threads. */
export const bulkLarge: Scenario = {
  name: 'bulk-large',
  description: '100,000-row CSV (--jobs: rows) through the large MLP (256 → … → 10) with `scoreq run`: rows/s vs raw onnxruntime, same threads and batch size',
  run: (ctx) =>
    runBulk(ctx, 'bulk-large', {
      name: 'bench-bulk-large',
      mlp: REFERENCE_MODELS.large,
      labels: Array.from({ length: 10 }, (_, i) => `c${i}`),
      rows: 100_000,
      chunkRows: 512,
      window: 16,
      baseline: 'raw',
      seed: 20_250_102,
    }),
};
