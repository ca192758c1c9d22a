/**
 * Three gateway processes on Redis behind HAProxy (deploy/haproxy's template), with unmodified pusher-js clients and
 * the `pusher` server SDK talking through the balancer: user events, presence and private channels across nodes, and
 * a node drained with SIGTERM whose clients come back on the others. Needs `npm run build` and /usr/sbin/haproxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { APP, connected, nextEvent, pusherClient, serverSdk, stateReached, subscribed, type Pusher, type PusherClientOptions } from '../helpers/pusher-clients.js';
import { waitFor } from '../support/wait.js';
import { ENGINE_SETUPS, startCluster, type Cluster, type EngineWorld } from '../cluster/support/cluster.js';
import { startHaproxy, type Balancer } from '../cluster/support/haproxy.js';
import type { NodeProcess } from '../cluster/support/node.js';

describe('pusher-js through HAProxy to three nodes on Redis', { timeout: 120_000 }, () => {
  let world: EngineWorld;
  let cluster: Cluster;
  let balancer: Balancer;
  const clients: Pusher[] = [];

  before(async () => {
    world = await ENGINE_SETUPS[0]!.start();
    cluster = await startCluster(world, 'pusher-haproxy', { nodes: 3, config: { pusher: { apps: [APP] } } });
    balancer = await startHaproxy(cluster.nodes);
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await balancer?.stop();
    await cluster?.stop();
    await world?.stop();
  });

  /** A pusher-js client through the balancer, signed in as `user` (the registry then says which node holds it). */
  async function signedIn(user: string, options: PusherClientOptions = {}): Promise<Pusher> {
    const client = pusherClient(balancer.port, { ...options, user: { id: user } });
    clients.push(client);
    await connected(client);
    client.signin();
    await client.user.signinDonePromise;
    return client;
  }

  /** The nodes holding `user`'s sessions, as the shared registry records them. */
  async function nodesOf(user: string, through: NodeProcess = liveNodes()[0]!): Promise<string[]> {
    const { status, body } = await through.api('GET', `/api/users/${user}`);
    assert.equal(status, 200, JSON.stringify(body));
    return (body as { sessions: Array<{ node: string }> }).sessions.map((session) => session.node).sort();
  }

  const drained = new Set<NodeProcess>();
  const liveNodes = () => cluster.nodes.filter((node) => !drained.has(node));

  /**
   * One signed-in client on each of `count` distinct nodes. HAProxy balances by least connections, so new clients
   * spread; a client landing on a node already covered is kept aside (and closed) and another one tried.
   */
  async function onDistinctNodes(prefix: string, count: number, options: (user: string) => PusherClientOptions = () => ({})): Promise<Array<{ user: string; client: Pusher; node: string }>> {
    const placed: Array<{ user: string; client: Pusher; node: string }> = [];
    const spare: Pusher[] = [];
    for (let attempt = 0; placed.length < count; attempt++) {
      assert.ok(attempt < count * 4, `clients did not spread over ${count} nodes: ${JSON.stringify(placed.map((entry) => entry.node))}`);
      const user = `${prefix}-${attempt}`;
      const client = await signedIn(user, options(user));
      const [node] = await nodesOf(user);
      if (placed.some((entry) => entry.node === node)) spare.push(client);
      else placed.push({ user, client, node: node! });
    }
    for (const client of spare) client.disconnect();
    return placed;
  }

  it('delivers one sendToUser exactly once to each of a user\'s connections on two nodes', async () => {
    // Two connections of the same user: the balancer's least-connections choice puts them on different nodes.
    const first = await signedIn('ada');
    const second = await signedIn('ada');
    const nodes = await nodesOf('ada');
    assert.equal(nodes.length, 2);
    assert.notEqual(nodes[0], nodes[1], 'both connections on one node');

    const received: string[] = [];
    first.user.bind('notice', (data: { n: number }) => received.push(`first:${data.n}`));
    second.user.bind('notice', (data: { n: number }) => received.push(`second:${data.n}`));
    const both = Promise.all([nextEvent(first.user, 'notice'), nextEvent(second.user, 'notice')]);
    await serverSdk(balancer.port).sendToUser('ada', 'notice', { n: 1 });
    assert.deepEqual(await both, [{ n: 1 }, { n: 1 }]);
    // A second notice through a node directly, awaited on both connections, shows the first arrived once on each.
    const next = Promise.all([nextEvent(first.user, 'notice'), nextEvent(second.user, 'notice')]);
    await serverSdk(cluster.nodes[2]!.port).sendToUser('ada', 'notice', { n: 2 });
    await next;
    assert.deepEqual(received.sort(), ['first:1', 'first:2', 'second:1', 'second:2']);
    first.disconnect();
    second.disconnect();
  });

  it('relays a trigger through one node to presence and private subscribers on all three, with membership once per user', async () => {
    const members = await onDistinctNodes('player', 3, (user) => ({ member: { user_id: user, user_info: { name: user } } }));
    assert.equal(new Set(members.map((member) => member.node)).size, 3);

    // Every member_added and member_removed each client sees, to count them at the end.
    const seen = new Map<string, string[]>();
    const presence = new Map<string, Awaited<ReturnType<typeof subscribed>>['channel']>();
    for (const [index, { user, client }] of members.entries()) {
      const log: string[] = [];
      seen.set(user, log);
      // Every member already in the channel announces the newcomer; await those before the next one joins.
      const announced = members.slice(0, index).map(({ user: earlier }) => nextEvent<{ id: string }>(presence.get(earlier)!, 'pusher:member_added'));
      const channel = client.subscribe('presence-arena');
      channel.bind('pusher:member_added', ({ id }: { id: string }) => log.push(`+${id}`));
      channel.bind('pusher:member_removed', ({ id }: { id: string }) => log.push(`-${id}`));
      const joined = await nextEvent<{ count: number; members: Record<string, unknown> }>(channel, 'pusher:subscription_succeeded');
      assert.equal(joined.count, index + 1);
      assert.deepEqual((await Promise.all(announced)).map(({ id }) => id), members.slice(0, index).map(() => user));
      presence.set(user, channel);
    }
    const privates = await Promise.all(members.map(({ client }) => subscribed(client, 'private-arena')));

    const scores = members.map(({ user }) => nextEvent(presence.get(user)!, 'score'));
    const privateScores = privates.map(({ channel }) => nextEvent(channel, 'score'));
    const sdk = serverSdk(cluster.nodes[1]!.port);
    await sdk.trigger(['presence-arena', 'private-arena'], 'score', { points: 3 });
    assert.deepEqual(await Promise.all(scores), [{ points: 3 }, { points: 3 }, { points: 3 }]);
    assert.deepEqual(await Promise.all(privateScores), [{ points: 3 }, { points: 3 }, { points: 3 }]);

    // The last player leaves: the two others each see one member_removed.
    const [stayA, stayB, leaver] = members as [typeof members[0], typeof members[0], typeof members[0]];
    const removed = [stayA, stayB].map(({ user }) => nextEvent<{ id: string }>(presence.get(user)!, 'pusher:member_removed'));
    leaver.client.disconnect();
    assert.deepEqual((await Promise.all(removed)).map(({ id }) => id), [leaver.user, leaver.user]);
    // A marker after the leave, awaited by both, gives any duplicate announcement time to show.
    const markers = [stayA, stayB].map(({ user }) => nextEvent(presence.get(user)!, 'marker'));
    await sdk.trigger('presence-arena', 'marker', {});
    await Promise.all(markers);
    assert.deepEqual(seen.get(stayA.user), [`+${stayB.user}`, `+${leaver.user}`, `-${leaver.user}`]);
    assert.deepEqual(seen.get(stayB.user), [`+${leaver.user}`, `-${leaver.user}`]);
    for (const { client } of members) client.disconnect();
  });

  it('moves the pusher-js clients of a node drained with SIGTERM to the other nodes, resubscribed', async () => {
    // One reader on each node, then three more, which the balancer spreads again: the drained node holds several.
    const readers = await onDistinctNodes('reader', 3);
    for (const user of ['reader-a', 'reader-b', 'reader-c']) readers.push({ user, client: await signedIn(user), node: (await nodesOf(user))[0]! });
    const channels = await Promise.all(readers.map(({ client }) => subscribed(client, 'private-news')));
    const victim = cluster.nodes.find((node) => node.nodeId === readers[0]!.node)!;
    const moved = readers.filter(({ node }) => node === victim.nodeId);
    const stayed = readers.filter(({ node }) => node !== victim.nodeId);
    assert.ok(moved.length >= 2, `the drained node holds ${moved.length} reader(s)`);
    const socketIds = new Map(readers.map(({ user, client }) => [user, client.connection.socket_id]));

    // pusher-js reconnects at once on 4200 (the drain's close) and, once connected again, resubscribes by itself.
    const resubscribed = moved.map((entry) => nextEvent(channels[readers.indexOf(entry)]!.channel, 'pusher:subscription_succeeded'));
    drained.add(victim);
    const exit = await victim.kill('SIGTERM');
    assert.equal(exit.code, 0, victim.output());
    await Promise.all(resubscribed);
    await Promise.all(moved.map(({ client }) => stateReached(client, 'connected')));
    for (const { user, client } of moved) assert.notEqual(client.connection.socket_id, socketIds.get(user), `${user} reconnected`);
    for (const { user, client } of stayed) assert.equal(client.connection.socket_id, socketIds.get(user), `${user} kept its connection`);
    // pusher-js signs in again after its reconnect: the registry shows where each moved client now is.
    for (const { user } of moved) {
      await waitFor(async () => (await nodesOf(user)).length === 1, 10_000, `${user} signed in again`);
      const [node] = await nodesOf(user);
      assert.notEqual(node, victim.nodeId);
    }

    const news = channels.map(({ channel }) => nextEvent(channel, 'headline'));
    await serverSdk(balancer.port).trigger('private-news', 'headline', { text: 'still here' });
    assert.deepEqual(await Promise.all(news), readers.map(() => ({ text: 'still here' })));
  });
});
