import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryIdempotencyStore } from '../../src/server/engine/idempotency/memory.js';

test('memory idempotency store: once per key within the TTL, conflicts, failures forgotten, bounded', async () => {
  let clock = 1_000;
  const store = new MemoryIdempotencyStore({ maxEntries: 3, clock: () => clock });
  let runs = 0;
  const work = async () => ++runs;

  assert.deepEqual(await store.once('a', 'f1', 100, work), { kind: 'answer', value: 1, replayed: false });
  assert.deepEqual(await store.once('a', 'f1', 100, work), { kind: 'answer', value: 1, replayed: true });
  assert.deepEqual(await store.once('a', 'f2', 100, work), { kind: 'conflict' });
  clock += 101;
  assert.deepEqual(await store.once('a', 'f1', 100, work), { kind: 'answer', value: 2, replayed: false }, 'expired keys run again');

  await assert.rejects(store.once('b', 'f', 100, async () => { throw new Error('backend down'); }));
  assert.deepEqual(await store.once('b', 'f', 100, work), { kind: 'answer', value: 3, replayed: false }, 'a failure is not remembered');

  const concurrent = await Promise.all([1, 2, 3].map(() => store.once('c', 'f', 100, work)));
  assert.deepEqual(concurrent.map((result) => result.kind === 'answer' && result.value), [4, 4, 4]);

  await store.once('d', 'f', 100, work);
  assert.equal(store.size, 3, 'bounded: the oldest key went');
  assert.deepEqual(await store.once('a', 'f1', 100, work), { kind: 'answer', value: 6, replayed: false });
});
