import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_QUEUE } from '@scoreq/contracts';
import { getWebhookSecret } from '@scoreq/webhooks';

/** One POST the receiver got. */
export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local webhook endpoint (answers 204) that keeps every delivery, for tests. */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private readonly waiters: Array<{ match: (d: Delivery) => boolean; resolve: (d: Delivery) => void }> = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(204).end();
      this.arrived({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    });
  });

  private constructor() {}

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    receiver.server.listen(0, '127.0.0.1');
    await once(receiver.server, 'listening');
    return receiver;
  }

  /** `http://127.0.0.1:<port>/hooks`: allow 127.0.0.1 in SCOREQ_WEBHOOK_ALLOW. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Deliveries whose JSON body has this `id` (a job or run id). */
  about(id: string): Delivery[] {
    return this.deliveries.filter((d) => (JSON.parse(d.body) as { id?: unknown }).id === id);
  }

  /** The first delivery (already received or still to come) whose body has this `id`. */
  next(id: string, timeoutMs = 20_000): Promise<Delivery> {
    const match = (d: Delivery): boolean => (JSON.parse(d.body) as { id?: unknown }).id === id;
    const seen = this.deliveries.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no webhook about ${id} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (d) => (clearTimeout(timer), resolve(d)) });
    });
  }

  close(): void {
    this.server.close();
  }

  private arrived(delivery: Delivery): void {
    this.deliveries.push(delivery);
    for (const w of this.waiters.filter((w) => w.match(delivery))) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(delivery);
    }
  }
}

/** Verifies a delivery's Standard Webhooks signature with the tenant's secret and returns its body. */
export async function verifyDelivery<T>(redis: Redis, prefix: string, tenant: string, delivery: Delivery): Promise<T> {
  const secret = await getWebhookSecret(redis, prefix, tenant);
  return new Webhook(secret).verify(delivery.body, {
    'webhook-id': String(delivery.headers['webhook-id']),
    'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
    'webhook-signature': String(delivery.headers['webhook-signature']),
  }) as T;
}

/** Waits until the webhook queue under `prefix` has nothing left to deliver. */
export async function deliveriesSettled(redis: Redis, prefix: string): Promise<void> {
  const queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix });
  try {
    for (let i = 0; i < 200; i++) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('webhook deliveries did not settle');
  } finally {
    await queue.close();
  }
}
