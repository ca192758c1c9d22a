import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeActionFrame } from '../../src/server/codec/node-frames.js';
import { toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { APP, connected, nextEvent, pusherClient, subscribed, type Pusher, type PusherClientOptions } from '../helpers/pusher-clients.js';
import { uniquePrefix } from '../support/prefix.js';
import { startRedis, type ServerProcess } from '../support/servers.js';

describe('Pusher connections on two nodes sharing Redis', () => {
  let redis: ServerProcess;
  let nodes: RunningGateway[] = [];
  const clients: Pusher[] = [];
  const client = (node: RunningGateway, options?: PusherClientOptions) => {
    const made = pusherClient(node.port, options);
    clients.push(made);
    return made;
  };

  before(async () => {
    redis = await startRedis();
    const engine = { kind: 'redis' as const, redisUrls: [redis.url], prefix: uniquePrefix('pusher-cluster') };
    nodes = await Promise.all([0, 1].map(() => startGateway({ engine, pusher: { apps: [APP] } })));
  });
  after(async () => {
    for (const made of clients) made.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.stop();
  });

  it('announces member_added and member_removed once per user, across nodes', async () => {
    const [a, b] = nodes as [RunningGateway, RunningGateway];
    const watcher = client(a, { member: { user_id: 'watcher' } });
    const { channel } = await subscribed(watcher, 'presence-board');

    const added = nextEvent<{ id: string; info: unknown }>(channel, 'pusher:member_added');
    const first = client(b, { member: { user_id: 'frank', user_info: { role: 'admin' } } });
    const joined = await subscribed<{ count: number; members: Record<string, unknown> }>(first, 'presence-board');
    assert.deepEqual(await added, { id: 'frank', info: { role: 'admin' } });
    assert.deepEqual(joined.data.members, { watcher: null, frank: { role: 'admin' } });

    // Frank's second connection, on the other node, is no new member; an event after it shows nothing came before.
    const again = client(a, { member: { user_id: 'frank', user_info: { role: 'admin' } } });
    let addedAgain = false;
    channel.bind('pusher:member_added', () => (addedAgain = true));
    await subscribed(again, 'presence-board');
    const removed = nextEvent<{ id: string }>(channel, 'pusher:member_removed');
    first.disconnect();
    const marker = nextEvent(channel, 'marker');
    await b.gateway.channels.publishFromServer(toWsgateChannel(APP.id, 'presence-board')!, JSON.stringify({ event: 'marker', data: '{}' }));
    await marker;
    assert.equal(addedAgain, false);
    // Only the last connection's end is a leave.
    again.disconnect();
    assert.deepEqual(await removed, { id: 'frank', info: { role: 'admin' } });
  });

  it('tells a presence subscriber of each member once: announcements that repeat its list are not sent again', async () => {
    const [a, b] = nodes as [RunningGateway, RunningGateway];
    const channelName = 'presence-hall';
    const channel = toWsgateChannel(APP.id, channelName)!;
    const watcher = client(a, { member: { user_id: 'watcher' } });
    const { channel: watched } = await subscribed(watcher, channelName);
    const seen: string[] = [];
    watched.bind('pusher:member_added', ({ id }: { id: string }) => seen.push(`+${id}`));
    watched.bind('pusher:member_removed', ({ id }: { id: string }) => seen.push(`-${id}`));
    const marker = async (): Promise<void> => {
      const arrived = nextEvent(watched, 'marker');
      await b.gateway.channels.publishFromServer(channel, JSON.stringify({ event: 'marker', data: '{}' }));
      await arrived;
    };

    const added = nextEvent(watched, 'pusher:member_added');
    const ida = client(b, { member: { user_id: 'ida' } });
    await subscribed(ida, channelName);
    await added;
    // Another node's announcements arriving late (a join that raced the subscriber's list, a leave of someone never
    // listed) change nothing the subscriber was told, so they do not reach it.
    await b.gateway.node.delivery.publishEvent(channel, { type: 'join', channel, user: 'ida', session: 'late' }, null);
    await b.gateway.node.delivery.publishEvent(channel, { type: 'leave', channel, user: 'nobody', session: 'late' }, null);
    await marker();
    assert.deepEqual(seen, ['+ida']);

    const removed = nextEvent(watched, 'pusher:member_removed');
    ida.disconnect();
    await removed;
    await b.gateway.node.delivery.publishEvent(channel, { type: 'leave', channel, user: 'ida', session: 'late' }, null);
    // A join after the leave is news again.
    await b.gateway.node.delivery.publishEvent(channel, { type: 'join', channel, user: 'ida', session: 'again' }, null);
    await marker();
    assert.deepEqual(seen, ['+ida', '-ida', '+ida']);
  });

  it('reaches a signed-in user\'s connections on both nodes exactly once each', async () => {
    const [a, b] = nodes as [RunningGateway, RunningGateway];
    const onA = client(a, { user: { id: 'grace' } });
    const onB = client(b, { user: { id: 'grace' } });
    await Promise.all([connected(onA), connected(onB)]);
    onA.signin();
    onB.signin();
    await Promise.all([onA.user.signinDonePromise, onB.user.signinDonePromise]);
    const received: string[] = [];
    onA.user.bind('NOTICE', () => received.push('a'));
    onB.user.bind('NOTICE', () => received.push('b'));
    const both = Promise.all([nextEvent(onA.user, 'NOTICE'), nextEvent(onB.user, 'NOTICE')]);
    assert.equal(await a.gateway.node.delivery.toUser('grace', encodeActionFrame('NOTICE', '{"n":1}')), 2);
    assert.deepEqual(await both, [{ n: 1 }, { n: 1 }]);
    // A second notice, awaited on both, shows the first came once to each.
    const next = Promise.all([nextEvent(onA.user, 'NOTICE'), nextEvent(onB.user, 'NOTICE')]);
    await b.gateway.node.delivery.toUser('grace', encodeActionFrame('NOTICE', '{"n":2}'));
    await next;
    assert.deepEqual(received.sort(), ['a', 'a', 'b', 'b']);
  });
});
