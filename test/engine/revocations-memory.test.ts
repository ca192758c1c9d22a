import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryRevocationStore } from '../../src/server/engine/revocations/memory.js';

test('memory revocations follow the injected clock and stay bounded, dropping what lapses soonest', async () => {
  let now = 1_000_000;
  const store = new MemoryRevocationStore({ maxEntries: 3, clock: () => now });
  const user = (id: string) => ({ kind: 'user', id }) as const;
  await store.revoke(user('a'), { until: now + 10_000, reason: 'a', revokedAt: now });
  await store.revoke(user('b'), { until: now + 1_000, reason: 'b', revokedAt: now });
  await store.revoke(user('c'), { until: now + 50_000, reason: 'c', revokedAt: now });
  await store.revoke(user('d'), { until: now + 20_000, reason: 'd', revokedAt: now });
  assert.equal(await store.find([user('b')]), null, 'the one lapsing soonest made room');
  for (const id of ['a', 'c', 'd']) assert.equal((await store.find([user(id)]))?.reason, id);
  now += 10_000;
  assert.equal(await store.find([user('a')]), null, 'lapsed exactly at until');
  assert.equal((await store.find([user('d')]))?.reason, 'd');
  // Full again: the lapsed one is removed first, then the live one that lapses soonest.
  await store.revoke(user('e'), { until: now + 5_000, reason: 'e', revokedAt: now });
  await store.revoke(user('f'), { until: now + 6_000, reason: 'f', revokedAt: now });
  const reasons = await Promise.all(['c', 'd', 'e', 'f'].map(async (id) => (await store.find([user(id)]))?.reason ?? null));
  assert.deepEqual(reasons, ['c', 'd', null, 'f']);
});
