import type { InferenceSession } from 'onnxruntime-node';

/**
 * One intra-op thread per session: parallelism comes from the Piscina pool, and ORT's own
 * pool per session times the pool's threads would oversubscribe the CPU (STACK-NOTES trap 4).
 * Spinning is off so an idle thread does not burn a core waiting for the next batch.
 */
export function sessionOptions(): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Failures are returned with the job's error; ORT's own stderr lines would only duplicate them.
    logSeverityLevel: 4,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}
