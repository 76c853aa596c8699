import { REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { runRealtime } from '../realtime/run-realtime.js';
import type { Scenario } from '../scenario.js';

/** Single-row jobs through the large reference MLP, 256 features → 10 classes. */
export const realtimeLarge: Scenario = {
  name: 'realtime-large',
  description: 'single-row jobs, large MLP (256 → 1024 → 1024 → 512 → 10): scoreq vs noop and naive BullMQ workers',
  run: (ctx) =>
    runRealtime(ctx, 'realtime-large', {
      name: 'bench-mlp-large',
      mlp: REFERENCE_MODELS.large,
      labels: Array.from({ length: 10 }, (_, i) => `c${i}`),
      // ~3.5 KB a job (256 features): 40k jobs are at most ~150 MB of Redis, kept until the drain is cleared.
      maxJobs: 40_000,
    }),
};
