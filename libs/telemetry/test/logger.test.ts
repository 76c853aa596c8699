import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/index.js';
import { sink } from './sink.js';

test('a logger writes one JSON line per call with level, ISO time, msg, service and pid', async () => {
  const out = sink();
  const logger = createLogger({ service: 'scoreq-test', destination: out.stream });

  logger.info('worker started');

  const line = await out.next();
  assert.equal(line.level, 30);
  assert.equal(line.msg, 'worker started');
  assert.equal(line.service, 'scoreq-test');
  assert.equal(line.pid, process.pid);
  assert.equal(typeof line.time, 'string');
  assert.equal(new Date(line.time as string).toISOString(), line.time);
});

test('a child logger adds its bound fields to every line', async () => {
  const out = sink();
  const logger = createLogger({ destination: out.stream }).child({ model: 'churn', version: '3' });

  logger.warn({ rows: 64 }, 'batch slow');
  logger.error('batch failed');

  const first = await out.next();
  assert.deepEqual(
    { level: first.level, msg: first.msg, model: first.model, version: first.version, rows: first.rows, service: first.service },
    { level: 40, msg: 'batch slow', model: 'churn', version: '3', rows: 64, service: 'scoreq' },
  );
  const second = await out.next();
  assert.equal(second.level, 50);
  assert.equal(second.model, 'churn');
  assert.equal(second.version, '3');
});

test('a logger leaves out lines below its level', async () => {
  const out = sink();
  const logger = createLogger({ level: 'warn', destination: out.stream });

  logger.debug('not written');
  logger.info('not written either');
  logger.warn('written');

  const line = await out.next();
  assert.equal(line.msg, 'written');
  assert.equal(logger.level, 'warn');
});

test('a logger serialises an error under err with its message and stack', async () => {
  const out = sink();
  const logger = createLogger({ destination: out.stream });

  logger.error({ err: new Error('redis went away') }, 'queue depth failed');

  const line = await out.next();
  const err = line.err as Record<string, unknown>;
  assert.equal(err.message, 'redis went away');
  assert.equal(err.type, 'Error');
  assert.match(String(err.stack), /redis went away/);
});

test('an unknown level is refused by naming the option', () => {
  assert.throws(() => createLogger({ level: 'verbose' }), { name: 'ScoreqError', code: 'INVALID_OPTION', message: /options\.level/ });
});
