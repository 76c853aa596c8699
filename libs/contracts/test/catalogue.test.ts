import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ENV_SCHEMA, ERROR_CODES, loadConfig } from '../src/index.js';

const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');

test('every error code is documented in the README', () => {
  const missing = Object.keys(ERROR_CODES).filter((code) => !readme.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
});

test('every environment variable is documented in the README', () => {
  const missing = Object.keys(ENV_SCHEMA).filter((name) => !readme.includes(`\`${name}\``));
  assert.deepEqual(missing, []);
});

test('configuration names every wrong variable in one CONFIG_INVALID error', () => {
  assert.throws(
    () => loadConfig({ SCOREQ_POOL_THREADS: 'two', REDIS_URL: 'nope', SCOREQ_MAX_DELAY_MS: '-1' }),
    (err: { code?: string; message?: string }) =>
      err.code === 'CONFIG_INVALID' && ['SCOREQ_POOL_THREADS', 'REDIS_URL', 'SCOREQ_MAX_DELAY_MS'].every((v) => err.message!.includes(v)),
  );
});

test('configuration with nothing set takes every default', () => {
  const config = loadConfig({});
  assert.equal(config.SCOREQ_PREFIX, 'scoreq');
  assert.equal(config.SCOREQ_MAX_BATCH_ROWS, 64);
  assert.ok(Object.isFrozen(config));
});
