import { REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { runBulk } from '../bulk/run-bulk.js';
import type { Scenario } from '../scenario.js';

/** A 1,000,000-row CSV scored into a CSV by the small MLP, against the io baseline. */
export const bulkSmall: Scenario = {
  name: 'bulk-small',
  description: '1,000,000-row CSV (--jobs: rows) through the small MLP to a CSV with `scoreq run`: rows/s vs the io baseline, peak RSS, Redis peak',
  run: (ctx) =>
    runBulk(ctx, 'bulk-small', {
      name: 'bench-bulk-small',
      mlp: REFERENCE_MODELS.small,
      labels: ['no', 'yes'],
      rows: 1_000_000,
      // Large chunks: per-job queue overhead is the cost to beat for a model this small.
      chunkRows: 4_096,
      window: 16,
      baseline: 'io',
      seed: 20_250_101,
    }),
};
