import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@scoreq/contracts';
import { DELIVERY_DEFAULTS, deliveryOptionsFromConfig } from '../src/index.js';
import { resolvePolicy, retryDelay } from '../src/options.js';

test('the defaults are 16 at once, 15 s per attempt, 20 attempts, backoff from 5 s doubling up to 1 h with ±20% jitter', () => {
  const p = resolvePolicy(undefined);
  assert.equal(p.concurrency, 16);
  assert.equal(p.timeoutMs, 15_000);
  assert.equal(p.maxAttempts, 20);
  assert.deepEqual([p.backoffBaseMs, p.backoffMaxMs, p.jitter], [5_000, 3_600_000, 0.2]);
  assert.ok(Object.isFrozen(p));
});

test('configuration maps onto the policy', () => {
  const config = loadConfig({
    SCOREQ_WEBHOOK_ALLOW: '127.0.0.1,hooks.corp',
    SCOREQ_WEBHOOK_CONCURRENCY: '4',
    SCOREQ_WEBHOOK_TIMEOUT_MS: '500',
    SCOREQ_WEBHOOK_MAX_ATTEMPTS: '3',
    SCOREQ_WEBHOOK_BACKOFF_BASE_MS: '250',
    SCOREQ_WEBHOOK_BACKOFF_MAX_MS: '60000',
  });
  const { concurrency, policy } = deliveryOptionsFromConfig(config);
  const p = resolvePolicy(concurrency, policy);
  assert.deepEqual(
    [p.concurrency, p.timeoutMs, p.maxAttempts, p.allow.entries, p.backoffBaseMs, p.backoffMaxMs],
    [4, 500, 3, ['127.0.0.1', 'hooks.corp'], 250, 60_000],
  );
  assert.equal(resolvePolicy(undefined, deliveryOptionsFromConfig(loadConfig({})).policy).allow.entries.length, 0);
});

test('a backoff maximum below its base is refused by configuration, naming both variables', () => {
  const config = loadConfig({ SCOREQ_WEBHOOK_BACKOFF_BASE_MS: '10000', SCOREQ_WEBHOOK_BACKOFF_MAX_MS: '5000' });
  assert.throws(
    () => deliveryOptionsFromConfig(config),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /SCOREQ_WEBHOOK_BACKOFF_MAX_MS \(5000\) is below SCOREQ_WEBHOOK_BACKOFF_BASE_MS \(10000\)/);
      return true;
    },
  );
});

test('more than 100 attempts is refused by configuration', () => {
  assert.throws(() => loadConfig({ SCOREQ_WEBHOOK_MAX_ATTEMPTS: '101' }), { code: 'CONFIG_INVALID' });
});

const refusals: Array<[string, () => unknown]> = [
  ['concurrency', () => resolvePolicy(0)],
  ['policy.timeoutMs', () => resolvePolicy(1, { timeoutMs: 1.5 })],
  ['policy.maxAttempts', () => resolvePolicy(1, { maxAttempts: 0 })],
  ['policy.maxAttempts', () => resolvePolicy(1, { maxAttempts: 101 })],
  ['policy.backoffBaseMs', () => resolvePolicy(1, { backoffBaseMs: -1 })],
  ['policy.backoffBaseMs', () => resolvePolicy(1, { backoffBaseMs: 2.5 })],
  ['policy.backoffMaxMs', () => resolvePolicy(1, { backoffBaseMs: 1_000, backoffMaxMs: 999 })],
  ['policy.jitter', () => resolvePolicy(1, { jitter: 1.5 })],
  ['policy.deadLetterCap', () => resolvePolicy(1, { deadLetterCap: 0 })],
  ['allow', () => resolvePolicy(1, { allow: 'ftp://x' })],
];
for (const [option, call] of refusals) {
  test(`a bad ${option} is refused by name`, () => {
    assert.throws(call, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INVALID_OPTION');
      assert.ok(err.message.includes(option), err.message);
      return true;
    });
  });
}

test('without jitter each retry waits twice as long as the one before, from the base', () => {
  const policy = { backoffBaseMs: 100, backoffMaxMs: 1_000_000, jitter: 0 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, policy)),
    [100, 200, 400, 800, 1_600, 3_200],
  );
});

test('the wait stops growing at the cap, even after the most attempts a delivery can make', () => {
  const policy = { backoffBaseMs: DELIVERY_DEFAULTS.backoffBaseMs, backoffMaxMs: DELIVERY_DEFAULTS.backoffMaxMs, jitter: 0 };
  // 5 s · 2^9 = 2560 s is the last step under the hour; the tenth retry would be 2560 s · 2.
  assert.equal(retryDelay(10, policy), 2_560_000);
  for (const n of [11, 12, 40, 99, 100]) assert.equal(retryDelay(n, policy), 3_600_000, `after ${n} failed attempts`);
});

test('jitter keeps every wait within ±jitter of its nominal value and never above the cap', () => {
  const policy = { backoffBaseMs: 5_000, backoffMaxMs: 3_600_000, jitter: 0.2 };
  assert.deepEqual(
    [0, 0.5, 1].map((r) => retryDelay(1, policy, () => r)),
    [4_000, 5_000, 6_000],
  );
  assert.deepEqual(
    [0, 0.5, 1].map((r) => retryDelay(3, policy, () => r)),
    [16_000, 20_000, 24_000],
  );
  // A capped wait may be drawn shorter, never longer.
  assert.deepEqual(
    [0, 0.5, 1].map((r) => retryDelay(20, policy, () => r)),
    [2_880_000, 3_600_000, 3_600_000],
  );
  for (let n = 1; n <= 100; n++) {
    const d = retryDelay(n, policy);
    const nominal = Math.min(5_000 * 2 ** (n - 1), 3_600_000);
    assert.ok(d >= nominal * 0.8 && d <= Math.min(nominal * 1.2, 3_600_000), `attempt ${n}: ${d} ms`);
  }
});

test('a base of 0 retries at once', () => {
  assert.equal(retryDelay(5, { backoffBaseMs: 0, backoffMaxMs: 0, jitter: 0.2 }), 0);
});
