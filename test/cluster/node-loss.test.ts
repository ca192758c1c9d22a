/**
 * Losing a node, behind HAProxy: SIGKILL (crash) and SIGTERM (deploy drain). Four gateway processes share Redis with
 * a 2 s lease; client-SDK users reach them only through HAProxy and must come back on the remaining nodes and recover
 * the channel from history; observers on other nodes see each `leave` exactly once.
 */
import { waitFor } from '../support/wait.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { TestClient } from '../helpers/client.js';
import { ENGINE_SETUPS, startCluster, type Cluster, type EngineWorld } from './support/cluster.js';
import { closeAll, connectUser, received } from './support/clients.js';
import { startHaproxy, type Balancer } from './support/haproxy.js';
import { type NodeProcess } from './support/node.js';
import { startRoamer, type Roamer } from './support/roamer.js';

const LEASE_MS = 2_000;
/** A dead node is noticed by the next sweep (every lease/2) after its lease ran out; allow for scheduling on a busy machine. */
const PURGE_BOUND_MS = LEASE_MS + LEASE_MS / 2 + 1_500;
const ROOM = 'chat:room';
const FEED = 'feed:orders';

describe('node loss behind HAProxy', { timeout: 90_000 }, () => {
  let world: EngineWorld;
  let cluster: Cluster;
  let balancer: Balancer;
  let n1: NodeProcess, n2: NodeProcess, n3: NodeProcess, n4: NodeProcess;
  const watchers: TestClient[] = [];
  const clients: TestClient[] = [];
  const roamers: Roamer[] = [];
  let seq = 0;

  before(async () => {
    world = await ENGINE_SETUPS[0]!.start();
    cluster = await startCluster(world, 'loss', { nodes: 4, leaseMs: LEASE_MS });
    [n1, n2, n3, n4] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess];
    balancer = await startHaproxy(cluster.nodes);
    for (const [node, user] of [[n1, 'watcher-1'], [n2, 'watcher-2']] as const) {
      const watcher = await connectUser(node, user);
      await watcher.subscribe(ROOM);
      watchers.push(watcher);
    }
  });

  after(async () => {
    for (const roamer of roamers) roamer.client.disconnect();
    await closeAll([...watchers, ...clients]).catch(() => {});
    await balancer?.stop();
    await cluster?.stop();
    await world?.stop();
  });

  /** Opens SDK clients through HAProxy while every other live node is set to drain in HAProxy, so they land on `target`. */
  async function roamersOn(target: NodeProcess, others: NodeProcess[], users: string[]): Promise<Roamer[]> {
    for (const other of others) assert.match(await balancer.admin(`set server wsgate_nodes/${balancer.serverOf(other)} state drain`), /^$/);
    try {
      const started = users.map((user) => startRoamer(balancer.httpUrl, user, FEED));
      roamers.push(...started);
      for (const roamer of started) assert.equal((await roamer.connectedElsewhere()).node, target.nodeId, `${roamer.user} landed on the target`);
      // Connected comes before subscribed: a publication in between is not owed to the new subscription.
      await Promise.all(started.map((roamer) => roamer.subscribed()));
      return started;
    } finally {
      for (const other of others) await balancer.admin(`set server wsgate_nodes/${balancer.serverOf(other)} state ready`);
    }
  }

  async function publish(): Promise<number> {
    const next = ++seq;
    const { status, body } = await n1.api('POST', '/api/publish', { channel: FEED, data: { seq: next } });
    assert.equal(status, 200, JSON.stringify(body));
    return next;
  }

  async function online(user: string): Promise<Array<{ node: string }>> {
    return ((await n1.api('GET', `/api/users/${user}`)).body as { sessions: Array<{ node: string }> }).sessions;
  }

  async function presentUsers(): Promise<string[]> {
    return ((await n2.api('GET', `/api/channels/${encodeURIComponent(ROOM)}/presence`)).body as { members: Array<{ user: string }> }).members.map((member) => member.user);
  }

  /** Every watcher saw `user` leave the room exactly once (a marker publication proves nothing else is in flight). */
  async function leftOnce(user: string): Promise<void> {
    await Promise.all(watchers.map((watcher) => watcher.waitFor((frame) => frame.type === 'leave' && frame.user === user, 10_000)));
    const marker = `after-${user}`;
    await n1.api('POST', '/api/publish', { channel: ROOM, data: { marker } });
    await Promise.all(watchers.map((watcher) => watcher.waitFor((frame) => frame.type === 'message' && (frame.data as { marker?: string }).marker === marker)));
    for (const watcher of watchers) {
      assert.equal(received(watcher, 'leave', (frame) => frame.user === user).length, 1, `${watcher.welcome!.user} saw ${user} leave once`);
    }
  }

  test('SIGKILL: the dead node is purged within the lease bound, leave fires once, its clients come back through HAProxy and recover', async () => {
    const gone = await connectUser(n3, 'gone-user');
    clients.push(gone);
    await gone.subscribe(ROOM);
    await Promise.all(watchers.map((watcher) => watcher.waitFor((frame) => frame.type === 'join' && frame.user === 'gone-user')));
    const victims = await roamersOn(n3, [n1, n2, n4], ['roamer-1', 'roamer-2', 'roamer-3']);
    const before = await publish();
    await Promise.all(victims.map((victim) => victim.hasSeen(before)));

    const killedAt = Date.now();
    assert.deepEqual(await n3.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });
    // Published while the victims are cut off: they must get these from history when they resubscribe.
    const missed = [await publish(), await publish()];

    const back = await Promise.all(victims.map((victim) => victim.connectedElsewhere(n3.nodeId)));
    const reconnectMs = Date.now() - killedAt;
    for (const status of back) assert.ok([n1.nodeId, n2.nodeId, n4.nodeId].includes(status.node));

    // The purge removes the dead node's sessions from the registry, then their presence, then announces each leave:
    // a watcher's `leave` is the event that proves both are gone.
    await Promise.all(watchers.map((watcher) => watcher.waitFor((frame) => frame.type === 'leave' && frame.user === 'gone-user', PURGE_BOUND_MS + 2_000)));
    const purgedMs = Date.now() - killedAt;
    assert.ok(purgedMs <= PURGE_BOUND_MS, `registry and presence purged after ${purgedMs} ms (bound ${PURGE_BOUND_MS} ms)`);
    assert.deepEqual(await online('gone-user'), [], 'registry purged');
    assert.ok(!(await presentUsers()).includes('gone-user'), 'presence purged');
    for (const victim of victims) {
      const sessions = await online(victim.user);
      assert.equal(sessions.length, 1, `${victim.user}: only the new session is registered`);
      assert.notEqual(sessions[0]!.node, n3.nodeId);
    }
    await leftOnce('gone-user');

    const after = await publish();
    await Promise.all(victims.map((victim) => victim.hasSeen(after)));
    for (const victim of victims) assert.deepEqual(victim.seqs, [before, ...missed, after], `${victim.user} got every publication once, in order`);
    await waitFor(async () => (await balancer.states())[balancer.serverOf(n3)]!.startsWith('DOWN'), 5_000, 'HAProxy marks the killed node DOWN');
    console.log(`[node loss] SIGKILL: clients back on other nodes after ${reconnectMs} ms, registry and presence purged after ${purgedMs} ms (lease ${LEASE_MS} ms)`);
  });

  test('SIGTERM: the node drains with 1012, leaves the registry at once, and its clients move to the other nodes', async () => {
    const leaving = await connectUser(n4, 'drained-user');
    clients.push(leaving);
    await leaving.subscribe(ROOM);
    await Promise.all(watchers.map((watcher) => watcher.waitFor((frame) => frame.type === 'join' && frame.user === 'drained-user')));
    const movers = await roamersOn(n4, [n1, n2], ['mover-1', 'mover-2']);
    const before = await publish();
    await Promise.all(movers.map((mover) => mover.hasSeen(before)));

    const termAt = Date.now();
    const exit = n4.kill('SIGTERM');
    const disconnect = await leaving.seen('disconnect');
    assert.equal(disconnect.code, CloseCode.SERVICE_RESTART);
    assert.equal(disconnect.reconnect, true);
    assert.ok(typeof disconnect.after === 'number' && disconnect.after <= 300, `jittered reconnect hint ${String(disconnect.after)}`);
    assert.equal((await leaving.closed).code, CloseCode.SERVICE_RESTART);
    assert.deepEqual(await exit, { code: 0, signal: null }, n4.output());
    const exitedMs = Date.now() - termAt;

    // No lease to wait for: the node removed itself.
    assert.deepEqual(await online('drained-user'), []);
    assert.ok(!(await presentUsers()).includes('drained-user'));
    await leftOnce('drained-user');

    const moved = await Promise.all(movers.map((mover) => mover.connectedElsewhere(n4.nodeId)));
    for (const status of moved) assert.ok([n1.nodeId, n2.nodeId].includes(status.node));
    const after = await publish();
    await Promise.all(movers.map((mover) => mover.hasSeen(after)));
    for (const mover of movers) {
      assert.deepEqual(mover.seqs.slice(mover.seqs.indexOf(before)), [before, after], `${mover.user}: every publication once, in order`);
      assert.ok(mover.statuses.some((status) => status.type === 'reconnecting'), `${mover.user} reconnected`);
    }
    console.log(`[node loss] SIGTERM: node drained and exited in ${exitedMs} ms; registry clean at exit`);
  });
});
