import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TicketGrant, TicketStore } from '../../../src/server/engine/tickets/tickets.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

const grant = (ttlMs: number): TicketGrant => ({ user: 'alice', claims: { org: 'acme', roles: ['admin'] }, expiresAt: Date.now() + ttlMs });

/** The shared contract every `TicketStore` implementation must pass. */
export function ticketsContract(name: string, factory: WorldFactory<TicketStore>): void {
  describe(`TicketStore contract: ${name}`, () => {
    it('returns a grant once, on any node', () =>
      withWorld(factory, async (world) => {
        const [minting, redeeming] = [await world.instance(), await world.instance()];
        const g = grant(30_000);
        await minting.put('hash-1', g, 30_000);
        assert.deepEqual(await redeeming.take('hash-1'), g);
        assert.equal(await redeeming.take('hash-1'), null);
        assert.equal(await minting.take('hash-1'), null);
        assert.equal(await minting.take('unknown'), null);
        const anonymous: TicketGrant = { user: null, claims: {}, expiresAt: Date.now() + 30_000 };
        await minting.put('hash-2', anonymous, 30_000);
        assert.deepEqual(await redeeming.take('hash-2'), anonymous);
      }));

    it('gives a ticket to exactly one of many concurrent redemptions', () =>
      withWorld(factory, async (world) => {
        const stores = await Promise.all(Array.from({ length: 10 }, () => world.instance()));
        for (let round = 0; round < 5; round++) {
          await stores[0].put(`race-${round}`, grant(30_000), 30_000);
          const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % stores.length].take(`race-${round}`)));
          assert.equal(taken.filter((g) => g !== null).length, 1);
        }
      }));

    it('refuses an expired ticket', () =>
      withWorld(factory, async (world) => {
        const store = await world.instance();
        await store.put('stale', { user: 'bob', claims: {}, expiresAt: Date.now() - 1 }, 30_000);
        assert.equal(await store.take('stale'), null);
        await store.put('short', grant(150), 150);
        await elapse(world, 200);
        assert.equal(await store.take('short'), null);
      }));
  });
}
