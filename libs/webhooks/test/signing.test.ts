import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { generateSecret, sign, signatureHeaders } from '../src/index.js';
import { newMessageId, secretKey } from '../src/signing.js';

const body = JSON.stringify({ type: 'job.completed', id: 'churn.1', status: 'completed', model: 'churn', version: '3' });

test('a generated secret is whsec_ and the base64 of at least 24 random bytes', () => {
  const secret = generateSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
  assert.ok(secretKey(secret).length >= 24);
  assert.notEqual(generateSecret(), secret);
});

test('signed headers verify with the standardwebhooks package', () => {
  const secret = generateSecret();
  const headers = signatureHeaders(secret, 'msg_1', body);
  const verified = new Webhook(secret).verify(body, { ...headers });
  assert.deepEqual(verified, JSON.parse(body));
  assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+={0,2}$/);
  assert.equal(headers['webhook-id'], 'msg_1');
  assert.equal(headers['webhook-timestamp'], String(Math.floor(Date.now() / 1000)).slice(0, headers['webhook-timestamp'].length));
});

test('our signature equals the one standardwebhooks computes for the same id, time and body', () => {
  const secret = generateSecret();
  const at = new Date('2025-06-01T12:00:00.000Z');
  assert.equal(sign(secret, 'msg_x', at.getTime() / 1000, body), new Webhook(secret).sign('msg_x', at, body));
});

test('a changed body, id or timestamp, or another secret, no longer verifies', () => {
  const secret = generateSecret();
  const headers = signatureHeaders(secret, 'msg_1', body);
  const wh = new Webhook(secret);
  assert.throws(() => wh.verify(`${body} `, { ...headers }));
  assert.throws(() => wh.verify(body, { ...headers, 'webhook-id': 'msg_2' }));
  assert.throws(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) }));
  assert.throws(() => new Webhook(generateSecret()).verify(body, { ...headers }));
});

test('a timestamp outside the receiver tolerance is refused by the receiver', () => {
  const secret = generateSecret();
  const headers = signatureHeaders(secret, 'msg_1', body, Date.now() - 10 * 60_000);
  assert.throws(() => new Webhook(secret).verify(body, { ...headers }), /timestamp/i);
});

test('a secret that is not whsec_<base64> is refused by name', () => {
  assert.throws(() => secretKey('not-a-secret'), { code: 'INVALID_OPTION' });
  assert.throws(() => secretKey('whsec_'), { code: 'INVALID_OPTION' });
});

test('message ids are unique, never all digits and valid BullMQ job ids', () => {
  const a = newMessageId();
  assert.match(a, /^msg_[0-9a-f]{32}$/);
  assert.notEqual(newMessageId(), a);
});
