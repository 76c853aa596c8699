/**
 * The optimistic transaction every registry change goes through, on real Redis: a change
 * that loses a race is computed again on the new state; one that keeps losing is given up
 * with REGISTRY_CONFLICT; a refused change writes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { deleteKeysUnder, keys, type ModelRecord } from '@scoreq/contracts';
import { ModelRecords } from '../src/model-records.js';
import { hasCode } from './helpers.js';

const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefixes: string[] = [];

after(async () => {
  for (const prefix of prefixes) await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

function prefix(): string {
  const p = `test-${randomUUID().slice(0, 8)}`;
  prefixes.push(p);
  return p;
}

/**
 * A connection whose transaction connection runs `interfere` right before each EXEC: another
 * process's write lands, deterministically, between this transaction's WATCH and EXEC.
 */
function racingConnection(interfere: () => Promise<unknown>): Redis {
  const owner = redis.duplicate();
  owner.duplicate = () => {
    const tx = redis.duplicate();
    const multi = tx.multi.bind(tx) as () => ReturnType<Redis['multi']>;
    tx.multi = (() => {
      const pipeline = multi();
      const exec = pipeline.exec.bind(pipeline);
      pipeline.exec = (async () => {
        await interfere();
        return exec();
      }) as typeof pipeline.exec;
      return pipeline;
    }) as Redis['multi'];
    return tx;
  };
  return owner;
}

const record = (aliases: Record<string, string>): ModelRecord => ({ name: 'm', versions: {}, aliases });
const event = { kind: 'promote' as const, version: '1', alias: 'production', at: '' };

test('a change that loses a race is computed again on the state the winner left', async () => {
  const p = prefix();
  let raced = false;
  // Another process writes between this transaction's WATCH and EXEC, once.
  const owner = racingConnection(async () => {
    if (!raced) await redis.set(keys(p).model('m'), JSON.stringify(record({ staging: '2' })));
    raced = true;
  });
  const records = new ModelRecords(owner, p, 5);
  await redis.set(keys(p).model('m'), JSON.stringify(record({})));
  const seen: Record<string, string>[] = [];
  const result = await records.update('m', (state) => {
    seen.push(state.record!.aliases);
    return { record: record({ ...state.record!.aliases, production: '1' }), event, result: seen.length };
  });
  assert.equal(result, 2, 'the plan ran twice');
  assert.deepEqual(seen, [{}, { staging: '2' }]);
  assert.deepEqual((await records.read('m'))?.aliases, { staging: '2', production: '1' }, 'nothing the winner wrote is lost');
  await records.close();
  owner.disconnect();
});

test('a change that keeps losing is given up with REGISTRY_CONFLICT and writes nothing', async () => {
  const p = prefix();
  let n = 0;
  const owner = racingConnection(() => redis.set(keys(p).model('m'), JSON.stringify(record({ other: String(++n) }))));
  const records = new ModelRecords(owner, p, 2);
  await redis.set(keys(p).model('m'), JSON.stringify(record({})));
  await assert.rejects(
    records.update('m', () => {
      return {
        record: record({ production: '1' }),
        moves: [{ alias: 'production', from: null, to: '1', by: 't', at: '', reason: '', kind: 'promote' }],
        event,
        result: null,
      };
    }),
    hasCode('REGISTRY_CONFLICT', undefined, /changed concurrently 2 times in a row; nothing was changed/),
  );
  assert.deepEqual((await records.read('m'))?.aliases, { other: '2' });
  assert.deepEqual(await records.history('m'), []);
  await records.close();
  owner.disconnect();
});

test('a change its plan refuses writes nothing, and the next change goes through', async () => {
  const p = prefix();
  const records = new ModelRecords(redis, p, 5);
  await assert.rejects(
    records.update('m', () => {
      throw new Error('refused');
    }),
    /refused/,
  );
  assert.equal(await records.read('m'), null);
  await records.update('m', () => ({ record: record({}), seq: 1, event, result: null }));
  assert.deepEqual(await records.read('m'), record({}));
  assert.equal(await redis.get(keys(p).modelSeq('m')), '1');
  assert.deepEqual(await redis.smembers(keys(p).models()), ['m']);
  await records.update('m', () => ({ record: null, event, result: null }));
  assert.equal(await records.read('m'), null, 'a null record deletes the model');
  assert.deepEqual(await redis.smembers(keys(p).models()), []);
  await records.close();
});
