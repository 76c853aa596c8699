import type { Redis } from 'ioredis';
import { keys, type ModelRecord } from '@scoreq/contracts';

/** A record as a worker publishes it: one float32 input [N, 3] fed by features a, b, c. */
export function modelRecord(name: string): ModelRecord {
  return {
    name,
    aliases: { production: '1' },
    versions: {
      '1': {
        version: '1',
        sha256: '0'.repeat(64),
        size: 1024,
        createdAt: '2025-01-01T00:00:00.000Z',
        signature: {
          inputs: [{ name: 'input', type: 'float32', shape: ['N', 3] }],
          outputs: [{ name: 'probabilities', type: 'float32', shape: ['N', 2] }],
          batch: { dynamic: true, size: null },
        },
        metadata: { features: ['a', 'b', 'c'], output: { kind: 'classification', labels: ['no', 'yes'] } },
      },
    },
  };
}

/** Publishes `modelRecord(name)` where producers read the catalogue; no worker needed. */
export async function publishRecord(redis: Redis, prefix: string, name: string): Promise<string> {
  await redis.set(keys(prefix).model(name), JSON.stringify(modelRecord(name)));
  return name;
}
