import { REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { runRealtime } from '../realtime/run-realtime.js';
import type { Scenario } from '../scenario.js';

/** Single-row jobs through the small reference MLP, 32 features → 2 classes. */
export const realtimeSmall: Scenario = {
  name: 'realtime-small',
  description: 'single-row jobs, small MLP (32 → 64 → 32 → 2): scoreq vs noop and naive BullMQ workers',
  run: (ctx) =>
    runRealtime(ctx, 'realtime-small', {
      name: 'bench-mlp-small',
      mlp: REFERENCE_MODELS.small,
      labels: ['no', 'yes'],
      // ~0.5 KB a job: 60k jobs keep a fast system busy for several seconds in ~30 MB of Redis.
      maxJobs: 60_000,
    }),
};
