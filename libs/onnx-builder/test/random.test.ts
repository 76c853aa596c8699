import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../src/index.js';

test('seededRandom repeats its stream for the same seed and yields values in [0, 1)', () => {
  const a = seededRandom(123);
  const b = seededRandom(123);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    Array.from({ length: 1000 }, () => b()),
    xs,
  );
  for (const x of xs) assert.ok(x >= 0 && x < 1, `value ${x}`);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test('seededRandom gives a different stream for a different seed', () => {
  const a = seededRandom(1);
  const b = seededRandom(2);
  assert.notDeepEqual(
    Array.from({ length: 8 }, () => a()),
    Array.from({ length: 8 }, () => b()),
  );
});
