import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import { connectAs, type Frame, type TestClient } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { uniquePrefix } from '../support/prefix.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { waitFor } from '../support/wait.js';
import { APP, PUSHER_APPS, pusherSdk, sdkPost } from './support/pusher-http.js';

const eventOf = (frame: Frame) => (frame.data as { event: string }).event;

describe('Pusher HTTP API on two nodes over Redis', { timeout: 60_000 }, () => {
  let a: RunningGateway;
  let b: RunningGateway;
  const clients: TestClient[] = [];

  before(async () => {
    const engine = { kind: 'redis' as const, redisUrls: [SHARED_REDIS_URL], prefix: uniquePrefix('pusher-http'), leaseMs: 1_500 };
    [a, b] = [await startGateway({ engine, pusher: { apps: PUSHER_APPS } }), await startGateway({ engine, pusher: { apps: PUSHER_APPS } })];
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([a?.stop(), b?.stop()]);
  });

  /** A session of `user` on `node`, subscribed server-side to the app's channels `names`. */
  async function subscriber(node: RunningGateway, user: string, ...names: string[]): Promise<TestClient> {
    const client = await connectAs(node, user);
    clients.push(client);
    for (const name of names) {
      const channel = toWsgateChannel(APP.id, name)!;
      const subscribed = client.next('subscribed', (frame) => frame.channel === channel);
      await node.gateway.commands.changeSubscription('subscribe', channel, { session: client.welcome!.session as string });
      await subscribed;
    }
    return client;
  }

  it('lists the channels, counts and users of both nodes from either', async () => {
    await subscriber(a, 'ann', 'presence-hall');
    await subscriber(b, 'bob', 'presence-hall', 'cluster-news');
    await subscriber(b, 'cal', 'cluster-news');
    const sdk = pusherSdk(a.port);
    // The other node's counts reach the store with its next report (a lease renewal): nothing announces it.
    let listing: unknown;
    await waitFor(async () => {
      listing = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-hall', info: 'user_count,subscription_count' } })).json();
      return JSON.stringify(listing) === JSON.stringify({ channels: { 'presence-hall': { user_count: 2, subscription_count: 2 } } });
    }, 10_000, 'both nodes\' subscribers counted');
    await waitFor(async () => {
      listing = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'cluster-', info: 'subscription_count' } })).json();
      return JSON.stringify(listing) === JSON.stringify({ channels: { 'cluster-news': { subscription_count: 2 } } });
    }, 10_000, 'a channel held only by the other node');
    assert.deepEqual(await (await sdk.get({ path: '/channels/cluster-news', params: { info: 'subscription_count' } })).json(), { occupied: true, subscription_count: 2 });
    const users = (await (await sdk.get({ path: '/channels/presence-hall/users' })).json()) as { users: Array<{ id: string }> };
    assert.deepEqual(users.users.map((user) => user.id).sort(), ['ann', 'bob']);
  });

  it('an event triggered on one node reaches the other node\'s subscribers, but the socket_id session', async () => {
    const excluded = await subscriber(b, 'dan', 'relay');
    const reader = await subscriber(b, 'eve', 'relay');
    const local = await subscriber(a, 'fay', 'relay');
    const excludedSince = excluded.frames.length;
    const reached = [reader, local].map((client) => client.next('message', (frame) => eventOf(frame) === 'skip-dan'));
    await sdkPost(pusherSdk(a.port), '/events', { name: 'skip-dan', channel: 'relay', data: '1', socket_id: excluded.welcome!.session });
    await Promise.all(reached);
    await pusherSdk(a.port).trigger('relay', 'all', '2');
    await excluded.waitFor((frame) => frame.type === 'message' && eventOf(frame) === 'all', 5_000, excludedSince);
    assert.deepEqual(excluded.frames.slice(excludedSince).filter((frame) => frame.type === 'message').map(eventOf), ['all']);
  });

  it('sendToUser reaches each session of the user on both nodes once; terminate ends them all', async () => {
    const onA = await subscriber(a, 'gus');
    const onB = await subscriber(b, 'gus');
    await pusherSdk(b.port).sendToUser('gus', 'MEMBER_DEACTIVATED', { id: 7 });
    await Promise.all([onA, onB].map((client) => client.seen('MEMBER_DEACTIVATED')));
    // A second action after it: once it is there, a duplicate of the first would have been too.
    await pusherSdk(a.port).sendToUser('gus', 'AFTER', {});
    await Promise.all([onA, onB].map((client) => client.seen('AFTER')));
    for (const client of [onA, onB]) assert.equal(client.count('MEMBER_DEACTIVATED'), 1);

    await pusherSdk(a.port).terminateUserConnections('gus');
    for (const closed of await Promise.all([onA.closed, onB.closed])) assert.equal(closed.code, 4500);
  });
});
