import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Revocation, RevocationStore } from '../../../src/server/engine/revocations/revocations.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

const revocation = (ttlMs: number, reason = 'left the company'): Revocation => ({ until: Date.now() + ttlMs, reason, revokedAt: Date.now() });

/** The shared contract every `RevocationStore` implementation must pass. */
export function revocationsContract(name: string, factory: WorldFactory<RevocationStore>): void {
  describe(`RevocationStore contract: ${name}`, () => {
    it('reports a revocation on every instance, for users and token ids apart', () =>
      withWorld(factory, async (world) => {
        const [revoking, checking] = [await world.instance(), await world.instance()];
        const banned = revocation(30_000);
        await revoking.revoke({ kind: 'user', id: 'alice' }, banned);
        await revoking.revoke({ kind: 'token', id: 'jti-1' }, revocation(30_000, 'leaked'));
        assert.deepEqual(await checking.find([{ kind: 'user', id: 'alice' }]), { ...banned, target: { kind: 'user', id: 'alice' } });
        assert.equal(await checking.find([{ kind: 'user', id: 'bob' }]), null);
        // A user id and a token id are different targets even when the strings match.
        assert.equal(await checking.find([{ kind: 'token', id: 'alice' }]), null);
        assert.equal(await checking.find([{ kind: 'user', id: 'jti-1' }]), null);
        const found = await checking.find([{ kind: 'user', id: 'bob' }, { kind: 'token', id: 'jti-1' }]);
        assert.equal(found?.reason, 'leaked');
        assert.deepEqual(found?.target, { kind: 'token', id: 'jti-1' });
        assert.equal(await checking.find([]), null);
      }));

    it('replaces a revocation of the same target and lifts it on request', () =>
      withWorld(factory, async (world) => {
        const [a, b] = [await world.instance(), await world.instance()];
        const user = { kind: 'user', id: 'carol' } as const;
        await a.revoke(user, revocation(30_000, 'first'));
        const shorter = revocation(20_000, 'second');
        await b.revoke(user, shorter);
        assert.deepEqual(await a.find([user]), { ...shorter, target: user });
        assert.equal(await b.lift(user), true);
        assert.equal(await a.find([user]), null);
        assert.equal(await a.lift(user), false);
      }));

    it('lets a revocation lapse by itself at its until', () =>
      withWorld(factory, async (world) => {
        const store = await world.instance();
        const token = { kind: 'token', id: 'short-lived' } as const;
        // Long enough that a busy machine still reads it before it lapses (stores on a server wait in real time).
        const lifetimeMs = 1000;
        await store.revoke(token, revocation(lifetimeMs));
        await store.revoke({ kind: 'user', id: 'dave' }, revocation(30_000));
        assert.notEqual(await store.find([token]), null);
        await elapse(world, lifetimeMs);
        assert.equal(await store.find([token]), null);
        assert.equal(await store.lift(token), false, 'a lapsed revocation is not there to lift');
        assert.notEqual(await store.find([{ kind: 'user', id: 'dave' }]), null, 'others stay');
      }));
  });
}
