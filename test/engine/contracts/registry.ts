import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Registry, SessionRecord } from '../../../src/server/engine/registry/registry.js';
import { waitFor } from '../../support/wait.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

function record(session: string, user: string | null, node: string, connectedAt: number): SessionRecord {
  return { session, user, node, connectedAt, client: { ip: '10.0.0.1', userAgent: 'test/1.0', origin: 'https://app.example' } };
}

const ids = (records: SessionRecord[]) => records.map((r) => r.session);
const sorted = (values: string[]) => [...values].sort();

/** The shared contract every `Registry` implementation must pass. */
export function registryContract(name: string, factory: WorldFactory<Registry>): void {
  describe(`Registry contract: ${name}`, () => {
    it('looks sessions up by id, user (oldest first) and node, and removes them once', () =>
      withWorld(factory, async (world) => {
        const registry = await world.instance();
        const unlimited = { max: 0, onLimit: 'kick-oldest' } as const;
        const s2 = record('s2', 'alice', 'n1', 2000);
        const s1 = record('s1', 'alice', 'n2', 1000);
        const anon = record('s3', null, 'n1', 3000);
        assert.deepEqual(await registry.addSession(s2, unlimited), { accepted: true, kicked: [], online: { seq: 1 } });
        assert.deepEqual(await registry.addSession(s1, unlimited), { accepted: true, kicked: [], online: null });
        assert.deepEqual(await registry.addSession(anon, unlimited), { accepted: true, kicked: [], online: null });
        assert.deepEqual(await registry.getSession('s1'), s1);
        assert.deepEqual(await registry.getSession('s3'), anon);
        assert.equal(await registry.getSession('nope'), null);
        assert.deepEqual(await registry.getUserSessions('alice'), [s1, s2]);
        assert.deepEqual(await registry.getUserSessions('bob'), []);
        assert.deepEqual(sorted(ids(await registry.getNodeSessions('n1'))), ['s2', 's3']);
        assert.deepEqual(ids(await registry.getNodeSessions('n2')), ['s1']);
        assert.deepEqual(await registry.removeSession(s1), { offline: null });
        assert.equal(await registry.removeSession(s1), null);
        assert.deepEqual(await registry.removeSession(anon), { offline: null });
        assert.equal(await registry.getSession('s1'), null);
        assert.deepEqual(await registry.getUserSessions('alice'), [s2]);
        assert.deepEqual(ids(await registry.getNodeSessions('n1')), ['s2']);
        assert.deepEqual(await registry.getNodeSessions('n2'), []);
        // Another instance (another node) sees the same state.
        const other = await world.instance();
        assert.deepEqual(await other.getUserSessions('alice'), [s2]);
      }));

    it('kick-oldest accepts the new session and returns the kicked ones oldest first', () =>
      withWorld(factory, async (world) => {
        const registry = await world.instance();
        const unlimited = { max: 0, onLimit: 'kick-oldest' } as const;
        for (const [session, at] of [['a', 30], ['b', 10], ['c', 20]] as const) await registry.addSession(record(session, 'u', 'n1', at), unlimited);
        const result = await registry.addSession(record('d', 'u', 'n2', 40), { max: 2, onLimit: 'kick-oldest' });
        assert.equal(result.accepted, true);
        assert.deepEqual(result.accepted && ids(result.kicked), ['b', 'c']);
        assert.deepEqual(ids(await registry.getUserSessions('u')), ['a', 'd']);
        assert.equal(await registry.getSession('b'), null);
        assert.deepEqual(ids(await registry.getNodeSessions('n1')), ['a']);
        // A kicked session's node later removes it: already gone.
        assert.equal(await registry.removeSession(record('b', 'u', 'n1', 10)), null);
        // Under the limit nobody is kicked; anonymous sessions ignore the policy.
        await registry.removeSession(record('a', 'u', 'n1', 30));
        assert.deepEqual(await registry.addSession(record('e', 'u', 'n1', 50), { max: 2, onLimit: 'kick-oldest' }), { accepted: true, kicked: [], online: null });
        assert.deepEqual(await registry.addSession(record('f', null, 'n1', 60), { max: 1, onLimit: 'reject-new' }), { accepted: true, kicked: [], online: null });
        assert.deepEqual(await registry.addSession(record('g', null, 'n1', 70), { max: 1, onLimit: 'reject-new' }), { accepted: true, kicked: [], online: null });
      }));

    it('reject-new refuses the session past the limit and registers nothing for it', () =>
      withWorld(factory, async (world) => {
        const registry = await world.instance();
        const policy = { max: 1, onLimit: 'reject-new' } as const;
        assert.deepEqual(await registry.addSession(record('a', 'u', 'n1', 1), policy), { accepted: true, kicked: [], online: { seq: 1 } });
        assert.deepEqual(await registry.addSession(record('b', 'u', 'n2', 2), policy), { accepted: false, reason: 'session-limit' });
        assert.equal(await registry.getSession('b'), null);
        assert.deepEqual(await registry.getNodeSessions('n2'), []);
        assert.deepEqual(ids(await registry.getUserSessions('u')), ['a']);
        // Other users are unaffected.
        assert.equal((await registry.addSession(record('c', 'v', 'n2', 3), policy)).accepted, true);
      }));

    it('holds max 1 with reject-new when 20 nodes add sessions for one user at once', () =>
      withWorld(factory, async (world) => {
        const registries = await Promise.all(Array.from({ length: 20 }, () => world.instance()));
        const results = await Promise.all(
          registries.map((registry, i) => registry.addSession(record(`s${i}`, 'racer', `n${i}`, 1000 + i), { max: 1, onLimit: 'reject-new' })),
        );
        const accepted = results.flatMap((result, i) => (result.accepted ? [`s${i}`] : []));
        assert.equal(accepted.length, 1);
        assert.deepEqual(ids(await registries[0].getUserSessions('racer')), accepted);
        for (let i = 0; i < 20; i++) if (`s${i}` !== accepted[0]) assert.equal(await registries[0].getSession(`s${i}`), null);
      }));

    it('holds max 1 with kick-oldest when 20 nodes add sessions for one user at once', () =>
      withWorld(factory, async (world) => {
        const registries = await Promise.all(Array.from({ length: 20 }, () => world.instance()));
        const results = await Promise.all(
          registries.map((registry, i) => registry.addSession(record(`s${i}`, 'racer', `n${i}`, 1000 + i), { max: 1, onLimit: 'kick-oldest' })),
        );
        assert.ok(results.every((result) => result.accepted));
        const kicked = results.flatMap((result) => (result.accepted ? ids(result.kicked) : []));
        const remaining = ids(await registries[0].getUserSessions('racer'));
        assert.equal(remaining.length, 1);
        // Every other session was kicked exactly once, by exactly one of the adders.
        assert.deepEqual(sorted([...kicked, ...remaining]), sorted(Array.from({ length: 20 }, (_, i) => `s${i}`)));
        for (const session of kicked) assert.equal(await registries[0].getSession(session), null);
      }));

    it('tracks node leases: live while renewed, dead (with sessions) once expired', () =>
      withWorld(factory, async (world) => {
        const registry = await world.instance();
        const leaseMs = 300;
        await registry.heartbeat({ node: 'live', startedAt: 1, host: 'h1' }, 60_000);
        await registry.heartbeat({ node: 'dying', startedAt: 2 }, leaseMs);
        await registry.heartbeat({ node: 'idle', startedAt: 3 }, leaseMs);
        await registry.addSession(record('s1', 'u', 'dying', 1), { max: 0, onLimit: 'kick-oldest' });
        await registry.addSession(record('s2', 'u', 'live', 2), { max: 0, onLimit: 'kick-oldest' });
        const live = await registry.liveNodes();
        assert.deepEqual(live.map((info) => info.node).sort(), ['dying', 'idle', 'live']);
        assert.deepEqual(live.find((info) => info.node === 'live'), { node: 'live', startedAt: 1, host: 'h1' });
        assert.deepEqual(await registry.deadNodes(), []);
        assert.equal(await registry.claimDeadNode('dying'), null, 'a live node cannot be claimed');
        await elapse(world, leaseMs);
        await waitFor(async () => (await registry.deadNodes()).includes('dying'), 5000, 'lease expiry');
        // `idle` expired too but owns no sessions: not reported.
        assert.deepEqual(await registry.deadNodes(), ['dying']);
        assert.deepEqual((await registry.liveNodes()).map((info) => info.node), ['live']);
        // A heartbeat revives a node.
        await registry.heartbeat({ node: 'dying', startedAt: 2 }, 60_000);
        assert.deepEqual(await registry.deadNodes(), []);
      }));

    it('gives a dead node’s sessions to exactly one of several concurrent claimers', () =>
      withWorld(factory, async (world) => {
        const registries = await Promise.all(Array.from({ length: 6 }, () => world.instance()));
        const [first] = registries;
        await first.heartbeat({ node: 'crashed', startedAt: 1 }, 200);
        await first.heartbeat({ node: 'other', startedAt: 1 }, 60_000);
        const records = [record('a', 'u1', 'crashed', 1), record('b', 'u2', 'crashed', 2), record('c', null, 'crashed', 3)];
        for (const r of records) await first.addSession(r, { max: 0, onLimit: 'kick-oldest' });
        await first.addSession(record('d', 'u1', 'other', 4), { max: 0, onLimit: 'kick-oldest' });
        await elapse(world, 200);
        await waitFor(async () => (await first.deadNodes()).includes('crashed'), 5000, 'lease expiry');
        const claims = await Promise.all(registries.map((registry) => registry.claimDeadNode('crashed')));
        const winners = claims.filter((claim) => claim !== null);
        assert.equal(winners.length, 1);
        assert.deepEqual(sorted(winners[0]!.map((removed) => removed.record.session)), ['a', 'b', 'c']);
        assert.deepEqual(winners[0]!.find((removed) => removed.record.session === 'a')?.record, records[0]);
        // u1 keeps a session on another node; u2 lost its only one (its second transition: offline).
        const offline = Object.fromEntries(winners[0]!.map((removed) => [removed.record.session, removed.offline]));
        assert.deepEqual(offline, { a: null, b: { seq: 2 }, c: null });
        assert.deepEqual(ids(await first.getUserSessions('u1')), ['d']);
        assert.deepEqual(await first.getUserSessions('u2'), []);
        assert.equal(await first.getSession('c'), null);
        assert.deepEqual(await first.getNodeSessions('crashed'), []);
        assert.deepEqual(await first.deadNodes(), []);
        assert.equal(await first.claimDeadNode('crashed'), null);
      }));

    it('reports each user online and offline transition once, numbered, across nodes and kicks', () =>
      withWorld(factory, async (world) => {
        const registries = await Promise.all(Array.from({ length: 8 }, () => world.instance()));
        const unlimited = { max: 0, onLimit: 'kick-oldest' } as const;
        // Eight nodes add a session of one user at once: one of them made the user online.
        const added = await Promise.all(registries.map((registry, i) => registry.addSession(record(`s${i}`, 'racer', `n${i}`, i), unlimited)));
        assert.deepEqual(added.flatMap((result) => (result.accepted && result.online ? [result.online] : [])), [{ seq: 1 }]);
        // Registering a session again is not a transition.
        assert.deepEqual(await registries[0]!.addSession(record('s0', 'racer', 'n0', 0), unlimited), { accepted: true, kicked: [], online: null });
        // They all leave at once: one removal took the last session.
        const removed = await Promise.all(registries.map((registry, i) => registry.removeSession(record(`s${i}`, 'racer', `n${i}`, i))));
        assert.deepEqual(removed.flatMap((result) => (result?.offline ? [result.offline] : [])), [{ seq: 2 }]);
        // The next time is transition 3; a kick replacing the only session keeps the user online.
        const back = await registries[1]!.addSession(record('t1', 'racer', 'n1', 10), { max: 1, onLimit: 'kick-oldest' });
        assert.deepEqual(back.accepted && back.online, { seq: 3 });
        const replaced = await registries[2]!.addSession(record('t2', 'racer', 'n2', 11), { max: 1, onLimit: 'kick-oldest' });
        assert.deepEqual(replaced.accepted && [ids(replaced.kicked), replaced.online], [['t1'], null]);
        assert.equal(await registries[1]!.removeSession(record('t1', 'racer', 'n1', 10)), null);
        assert.deepEqual((await registries[2]!.removeSession(record('t2', 'racer', 'n2', 11)))?.offline, { seq: 4 });
      }));

    it('removeNode drops the node’s lease and sessions', () =>
      withWorld(factory, async (world) => {
        const registry = await world.instance();
        await registry.heartbeat({ node: 'leaving', startedAt: 1 }, 60_000);
        await registry.heartbeat({ node: 'staying', startedAt: 1 }, 60_000);
        await registry.addSession(record('a', 'u', 'leaving', 1), { max: 0, onLimit: 'kick-oldest' });
        await registry.addSession(record('b', null, 'leaving', 2), { max: 0, onLimit: 'kick-oldest' });
        await registry.addSession(record('c', 'u', 'staying', 3), { max: 0, onLimit: 'kick-oldest' });
        const removed = await registry.removeNode('leaving');
        assert.deepEqual(removed.map((entry) => [entry.record.session, entry.offline]), [['a', null], ['b', null]]);
        assert.deepEqual(ids(await registry.getUserSessions('u')), ['c']);
        assert.equal(await registry.getSession('b'), null);
        assert.deepEqual(await registry.getNodeSessions('leaving'), []);
        assert.deepEqual((await registry.liveNodes()).map((info) => info.node), ['staying']);
        assert.deepEqual(await registry.deadNodes(), []);
      }));
  });
}
