import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@scoreq/contracts';
import { DELIVERY_DEFAULTS, deliveryOptionsFromConfig } from '../src/index.js';
import { resolvePolicy, retryDelay } from '../src/options.js';

test('the defaults are 16 at once, 15 s per attempt, 8 attempts on the Svix schedule', () => {
  const p = resolvePolicy(undefined);
  assert.equal(p.concurrency, 16);
  assert.equal(p.timeoutMs, 15_000);
  assert.equal(p.maxAttempts, 8);
  assert.deepEqual(p.retryDelaysMs, [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  assert.equal(p.retryDelaysMs.length, p.maxAttempts - 1);
  assert.ok(Object.isFrozen(p));
});

test('configuration maps onto the policy', () => {
  const config = loadConfig({
    SCOREQ_WEBHOOK_ALLOW: '127.0.0.1,hooks.corp',
    SCOREQ_WEBHOOK_CONCURRENCY: '4',
    SCOREQ_WEBHOOK_TIMEOUT_MS: '500',
    SCOREQ_WEBHOOK_MAX_ATTEMPTS: '3',
  });
  const { concurrency, policy } = deliveryOptionsFromConfig(config);
  const p = resolvePolicy(concurrency, policy);
  assert.deepEqual([p.concurrency, p.timeoutMs, p.maxAttempts, p.allow.entries], [4, 500, 3, ['127.0.0.1', 'hooks.corp']]);
  assert.equal(resolvePolicy(undefined, deliveryOptionsFromConfig(loadConfig({})).policy).allow.entries.length, 0);
});

test('more than 100 attempts is refused by configuration', () => {
  assert.throws(() => loadConfig({ SCOREQ_WEBHOOK_MAX_ATTEMPTS: '101' }), { code: 'CONFIG_INVALID' });
});

const refusals: Array<[string, () => unknown]> = [
  ['concurrency', () => resolvePolicy(0)],
  ['policy.timeoutMs', () => resolvePolicy(1, { timeoutMs: 1.5 })],
  ['policy.maxAttempts', () => resolvePolicy(1, { maxAttempts: 0 })],
  ['policy.maxAttempts', () => resolvePolicy(1, { maxAttempts: 101 })],
  ['policy.retryDelaysMs', () => resolvePolicy(1, { retryDelaysMs: [] })],
  ['policy.retryDelaysMs', () => resolvePolicy(1, { retryDelaysMs: [10, -1] })],
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

test('retry delays follow the schedule, the last entry repeating', () => {
  const policy = { retryDelaysMs: [100, 1_000, 10_000], jitter: 0 };
  assert.deepEqual(
    [1, 2, 3, 4, 9].map((n) => retryDelay(n, policy)),
    [100, 1_000, 10_000, 10_000, 10_000],
  );
});

test('jitter spreads a delay within ±jitter of its nominal value', () => {
  const policy = { retryDelaysMs: [DELIVERY_DEFAULTS.retryDelaysMs[0]!], jitter: 0.2 };
  assert.equal(
    retryDelay(1, policy, () => 0),
    4_000,
  );
  assert.equal(
    retryDelay(1, policy, () => 0.5),
    5_000,
  );
  assert.equal(
    retryDelay(1, policy, () => 1),
    6_000,
  );
});
