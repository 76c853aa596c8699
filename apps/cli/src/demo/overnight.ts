import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { featureSpecs } from '@scoreq/contracts';
import { startRun } from '@scoreq/runs';
import { rowSource, type DemoModel } from './models.js';

/** Rows of the demo's overnight run: enough to see chunks stream, quick enough for a demo. */
export const DEMO_RUN_ROWS = 20_000;

/** What the demo prints about its run. */
export interface DemoRunOutcome {
  id: string;
  rows: number;
  rejected: number;
  seconds: number;
  output: string;
  /** The output's header and first rows. */
  head: string[];
}

/**
 * An overnight run on a seeded CSV of `model`'s features with a `customer_id` key column,
 * scored into `<dir>/scores.csv` through the worker's bulk queue, as `scoreq run` does.
 */
export async function demoRun(options: { redisUrl: string; prefix: string; dir: string; model: DemoModel }): Promise<DemoRunOutcome> {
  const { model, dir } = options;
  const input = join(dir, 'customers.csv');
  const output = join(dir, 'scores.csv');
  await writeCsv(input, model, DEMO_RUN_ROWS);
  const started = performance.now();
  const handle = await startRun({
    connection: options.redisUrl,
    prefix: options.prefix,
    model: model.name,
    input,
    output,
    passThrough: ['customer_id'],
  });
  const final = await handle.finished;
  if (final.status !== 'completed') throw new Error(`the demo run ended ${final.status}: ${final.error?.message ?? ''}`);
  const head = (await readFile(output, 'utf8')).split('\n', 4);
  return { id: final.id, rows: final.done, rejected: final.rejected, seconds: (performance.now() - started) / 1000, output, head };
}

async function writeCsv(path: string, model: DemoModel, rows: number): Promise<void> {
  const features = featureSpecs(model.metadata).map((f) => f.name);
  const next = rowSource(model, 4242);
  const out = createWriteStream(path);
  out.write(`customer_id,${features.join(',')}\n`);
  for (let i = 0; i < rows; i++) {
    const row = next();
    if (!out.write(`c${String(i).padStart(6, '0')},${features.map((f) => String(row[f])).join(',')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
