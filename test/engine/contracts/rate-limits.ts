import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RateLimitStore } from '../../../src/server/engine/rate-limits/rate-limits.js';
import { waitFor } from '../../support/wait.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

/** The shared contract every `RateLimitStore` implementation must pass. */
export function rateLimitsContract(name: string, factory: WorldFactory<RateLimitStore>): void {
  describe(`RateLimitStore contract: ${name}`, () => {
    const alice = { kind: 'user', id: 'alice' } as const;

    it('lets a burst through at once, then refuses with the wait until the next call; instances share the bucket', () =>
      withWorld(factory, async (world) => {
        const [a, b] = [await world.instance(), await world.instance()];
        const allowance = { rate: 0.5, burst: 3 };
        assert.equal(await a.take(alice, 'chat', allowance), 0);
        assert.equal(await b.take(alice, 'chat', allowance), 0);
        assert.equal(await a.take(alice, 'chat', allowance), 0);
        const wait = await b.take(alice, 'chat', allowance);
        // One call per 2 s: the next one is due about 2 s after the first.
        assert.ok(wait > 1.5 && wait <= 2, `wait ${wait}`);
        // A refused call takes nothing: the wait does not grow.
        assert.ok((await a.take(alice, 'chat', allowance)) <= wait);
      }));

    it('is atomic: concurrent takes from several instances let exactly the burst through', () =>
      withWorld(factory, async (world) => {
        const stores = await Promise.all(Array.from({ length: 3 }, () => world.instance()));
        const allowance = { rate: 0.01, burst: 10 };
        const waits = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.take(alice, 'race', allowance)));
        assert.equal(waits.filter((wait) => wait === 0).length, 10);
      }));

    it('keeps subjects and buckets apart, and refills at the rate', () =>
      withWorld(factory, async (world) => {
        const store = await world.instance();
        const allowance = { rate: 20, burst: 1 };
        assert.equal(await store.take(alice, 'rename', allowance), 0);
        assert.ok((await store.take(alice, 'rename', allowance)) > 0);
        assert.equal(await store.take(alice, 'chat', allowance), 0, 'another bucket of the same user');
        assert.equal(await store.take({ kind: 'user', id: 'bob' }, 'rename', allowance), 0, 'another user');
        assert.equal(await store.take({ kind: 'apiKey', id: 'alice' }, 'rename', allowance), 0, 'an API key with the same id');
        // 20 per second: a call passes again 50 ms later.
        await elapse(world, 50);
        await waitFor(async () => (await store.take(alice, 'rename', allowance)) === 0, 2_000, 'the bucket to refill');
      }));
  });
}
