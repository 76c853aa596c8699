import type { BatchInfo } from '@scoreq/contracts';
import type { RunReply } from '../pool/messages.js';
import { allocate, rowWidth, type WireTensor } from '../tensor.js';
import type { BatchItem, ItemResult } from './batch-types.js';

/** A job in a batch that ran: its item and where its result goes. */
interface Settling {
  item: BatchItem;
  resolve: (result: ItemResult) => void;
}

/** Items stack only when every input has the same dims after the batch axis (symbolic dims may differ per job). */
export function stackable(a: BatchItem, b: BatchItem): boolean {
  return a.inputs.every((t, k) => {
    const other = b.inputs[k]!.dims;
    return t.dims.length === other.length && t.dims.every((d, axis) => axis === 0 || d === other[axis]);
  });
}

/** Concatenates the items' tensors along the batch axis, input by input. */
export function stack(items: BatchItem[]): WireTensor[] {
  const first = items[0]!;
  if (items.length === 1) return first.inputs;
  const rows = items.reduce((n, i) => n + i.rows, 0);
  return first.inputs.map((head, k) => {
    const width = rowWidth(head.dims);
    const data = allocate(head.type, rows * width);
    let offset = 0;
    for (const item of items) {
      const part = item.inputs[k]!.data;
      (data as Float32Array).set(part as Float32Array, offset);
      offset += part.length;
    }
    return { name: head.name, type: head.type, dims: [rows, ...head.dims.slice(1)], data };
  });
}

/** Hands each job its own rows of every output. */
export function settle(batch: readonly Settling[], reply: RunReply, info: BatchInfo, dispatchedAt: number): void {
  let row = 0;
  for (const w of batch) {
    const outputs = reply.outputs.map((o) => {
      const width = rowWidth(o.dims);
      return {
        name: o.name,
        type: o.type,
        dims: [w.item.rows, ...o.dims.slice(1)],
        data: o.data.subarray(row * width, (row + w.item.rows) * width),
      } as WireTensor;
    });
    row += w.item.rows;
    w.resolve({ outputs, batch: info, dispatchedAt, inferenceStartedAt: reply.startedAt, inferenceEndedAt: reply.endedAt });
  }
}
