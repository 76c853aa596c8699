import type { ModelSignature } from '@scoreq/contracts';
import type { WireTensor } from '@scoreq/inference';
import type { OutputCheck } from './validation-report.js';

/** Each output the signature declares is there with its dtype, shape and finite values. */
export function checkOutputs(signature: ModelSignature, outputs: WireTensor[], rows: number, fed: number, problems: string[]): OutputCheck[] {
  const checks: OutputCheck[] = [];
  for (const spec of signature.outputs) {
    const out = outputs.find((o) => o.name === spec.name);
    if (!out) {
      problems.push(`output '${spec.name}' is missing from the results`);
      continue;
    }
    if (out.type !== spec.type) problems.push(`output '${spec.name}' is ${out.type}; the signature declares ${spec.type}`);
    if (out.dims.length !== spec.shape.length) {
      problems.push(`output '${spec.name}' has dims [${out.dims.join(', ')}]; the signature declares [${spec.shape.join(', ')}]`);
    } else {
      spec.shape.forEach((d, axis) => {
        const want = axis === 0 && (typeof d === 'string' || !signature.batch.dynamic) ? fed : typeof d === 'number' && d >= 0 ? d : undefined;
        if (want !== undefined && out.dims[axis] !== want) {
          problems.push(`output '${spec.name}' has ${out.dims[axis]} on axis ${axis} (dims [${out.dims.join(', ')}]); expected ${want} for ${fed} input rows`);
        }
      });
    }
    const nonFinite = countNonFinite(out, rows);
    if (nonFinite.count > 0) {
      problems.push(`output '${spec.name}' has ${nonFinite.count} non-finite values (NaN or ±Infinity), the first in sample row ${nonFinite.firstRow}`);
    }
    checks.push({ name: out.name, type: out.type, dims: out.dims, nonFinite: nonFinite.count });
  }
  return checks;
}

function countNonFinite(out: WireTensor, rows: number): { count: number; firstRow: number } {
  if (out.type !== 'float32' && out.type !== 'float64') return { count: 0, firstRow: -1 };
  const data = out.data as Float32Array | Float64Array;
  const perRow = out.dims.length === 0 || (out.dims[0] ?? 0) === 0 ? data.length : data.length / (out.dims[0] ?? 1);
  const end = out.dims.length === 0 ? data.length : Math.min(data.length, rows * perRow);
  let count = 0;
  let firstRow = -1;
  for (let i = 0; i < end; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (count === 0) firstRow = Math.floor(i / perRow);
      count++;
    }
  }
  return { count, firstRow };
}
