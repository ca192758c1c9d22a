import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PresenceStore } from '../../../src/server/engine/presence/presence.js';
import { withWorld, type WorldFactory } from './world.js';

const byKey = <T extends { channel: string; session: string }>(list: T[]) =>
  [...list].sort((a, b) => `${a.channel} ${a.session}`.localeCompare(`${b.channel} ${b.session}`));

/** The shared contract every `PresenceStore` implementation must pass. */
export function presenceContract(name: string, factory: WorldFactory<PresenceStore>): void {
  describe(`Presence contract: ${name}`, () => {
    it('reports the first and last session of a user (multi-tab), and joins/leaves idempotently', () =>
      withWorld(factory, async (world) => {
        const presence = await world.instance();
        const channel = 'org:acme/view:order-17';
        assert.deepEqual(await presence.join(channel, { user: 'alice', session: 's1', node: 'n1' }), { firstForUser: true, seq: 1 });
        assert.deepEqual(await presence.join(channel, { user: 'alice', session: 's2', node: 'n2' }), { firstForUser: false });
        assert.deepEqual(await presence.join(channel, { user: 'alice', session: 's2', node: 'n2' }), { firstForUser: false });
        assert.deepEqual(await presence.join(channel, { user: 'bob', session: 's3', node: 'n1' }), { firstForUser: true, seq: 2 });
        assert.deepEqual(await presence.members(channel), [{ user: 'alice', sessions: 2 }, { user: 'bob', sessions: 1 }]);
        assert.equal(await presence.count(channel), 2);
        assert.deepEqual(await presence.leave(channel, 's1'), { user: 'alice', lastForUser: false });
        assert.deepEqual(await presence.leave(channel, 's1'), null);
        assert.deepEqual(await presence.leave(channel, 's2'), { user: 'alice', lastForUser: true, seq: 3 });
        assert.deepEqual(await presence.members(channel), [{ user: 'bob', sessions: 1 }]);
        assert.equal(await presence.count(channel), 1);
        assert.deepEqual(await presence.leave('chat:never', 's1'), null);
        assert.deepEqual(await presence.members('chat:never'), []);
        assert.equal(await presence.count('chat:never'), 0);
        // A user who left entirely joins again as first; the channel's transitions go on counting.
        assert.deepEqual(await presence.join(channel, { user: 'alice', session: 's4', node: 'n1' }), { firstForUser: true, seq: 4 });
      }));

    it('keeps a member\'s info while the user is present, and lists members without info as before', () =>
      withWorld(factory, async (world) => {
        const presence = await world.instance();
        const channel = 'pusher-app-presence:presence-room';
        await presence.join(channel, { user: 'alice', session: 's1', node: 'n1', info: { name: 'Alice' } });
        await presence.join(channel, { user: 'alice', session: 's2', node: 'n1', info: { name: 'Alice' } });
        await presence.join(channel, { user: 'bob', session: 's3', node: 'n2' });
        assert.deepEqual(await presence.members(channel), [
          { user: 'alice', sessions: 2, info: { name: 'Alice' } },
          { user: 'bob', sessions: 1 },
        ]);
        await presence.leave(channel, 's1');
        assert.deepEqual((await presence.members(channel))[0], { user: 'alice', sessions: 1, info: { name: 'Alice' } });
        await presence.removeSessions(['s2']);
        // The user left entirely: a later join without info lists no stale info.
        await presence.join(channel, { user: 'alice', session: 's4', node: 'n1' });
        assert.deepEqual(await presence.members(channel), [{ user: 'alice', sessions: 1 }, { user: 'bob', sessions: 1 }]);
      }));

    it('reports exactly one first join when one user joins from many sessions at once', () =>
      withWorld(factory, async (world) => {
        const stores = await Promise.all(Array.from({ length: 5 }, () => world.instance()));
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => stores[i % stores.length].join('chat:busy', { user: 'carol', session: `s${i}`, node: `n${i % 5}` })),
        );
        assert.equal(results.filter((result) => result.firstForUser).length, 1);
        assert.deepEqual(await stores[0].members('chat:busy'), [{ user: 'carol', sessions: 20 }]);
      }));

    it('removeSessions removes every membership of the sessions and reports each removal once', () =>
      withWorld(factory, async (world) => {
        const [a, b] = [await world.instance(), await world.instance()];
        await a.join('chat:1', { user: 'alice', session: 's1', node: 'dead' });
        await a.join('chat:2', { user: 'alice', session: 's1', node: 'dead' });
        await a.join('chat:1', { user: 'alice', session: 's2', node: 'live' });
        await a.join('chat:2', { user: 'bob', session: 's3', node: 'dead' });
        await a.join('chat:3', { user: 'dave', session: 's4', node: 'live' });
        // Two nodes purge the same dead sessions at once: each removal is reported by exactly one of them.
        const [first, second] = await Promise.all([a.removeSessions(['s1', 's3', 'unknown']), b.removeSessions(['s1', 's3'])]);
        const removed = byKey([...first, ...second]);
        assert.deepEqual(removed.map(({ seq, ...rest }) => rest), [
          { channel: 'chat:1', user: 'alice', session: 's1', lastForUser: false },
          { channel: 'chat:2', user: 'alice', session: 's1', lastForUser: true },
          { channel: 'chat:2', user: 'bob', session: 's3', lastForUser: true },
        ]);
        // chat:2 had two joins (1, 2); its two leaves are 3 and 4, in whichever order the purgers took them.
        assert.deepEqual(removed.filter((entry) => entry.channel === 'chat:2').map((entry) => entry.seq).sort(), [3, 4]);
        assert.deepEqual(await a.members('chat:1'), [{ user: 'alice', sessions: 1 }]);
        assert.deepEqual(await a.members('chat:2'), []);
        assert.deepEqual(await a.members('chat:3'), [{ user: 'dave', sessions: 1 }]);
        assert.deepEqual(await a.removeSessions(['s1']), []);
        // A session that left one channel normally is still removed from the others.
        await a.leave('chat:1', 's2');
        assert.deepEqual(await a.removeSessions(['s2']), []);
      }));
  });
}
