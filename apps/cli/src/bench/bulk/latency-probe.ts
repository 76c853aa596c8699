import type { ScoringClient } from '@scoreq/client';
import type { FeatureRow } from '@scoreq/contracts';

/** Latencies of probe jobs in ms, each list sorted ascending. */
export interface ProbeLatencies {
  /** submit → result in hand, as the caller sees it (SDK round trips included). */
  client: number[];
  /** enqueue → result stored, on the worker's clock (the job's `timings.totalMs`). */
  worker: number[];
  /** Dispatched by the batcher → inference started in a thread: the wait for a free slot. */
  poolWait: number[];
}

/**
 * Single-row jobs sent one every `intervalMs` (open loop: a slow answer does not delay the
 * next job) until `until` resolves.
 */
export async function probeLatency(
  client: ScoringClient,
  model: string,
  row: FeatureRow,
  intervalMs: number,
  until: Promise<unknown>,
): Promise<ProbeLatencies> {
  const out: ProbeLatencies = { client: [], worker: [], poolWait: [] };
  const pending: Promise<void>[] = [];
  let done = false;
  void until.finally(() => (done = true));
  const one = async (): Promise<void> => {
    const t0 = performance.now();
    const result = await client.waitForResult(await client.submit(model, { rows: [row] }), { timeoutMs: 30_000 });
    out.client.push(performance.now() - t0);
    out.worker.push(result.timings.totalMs);
    out.poolWait.push(result.timings.poolWaitMs);
  };
  while (!done) {
    pending.push(one());
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  await Promise.all(pending);
  for (const list of [out.client, out.worker, out.poolWait]) list.sort((a, b) => a - b);
  return out;
}
