import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import {
  type ClientStatus,
  type DirectMessage,
  type Publication,
  type PresenceChange,
  type Subscription,
  WsgateClient,
  type WsgateClientOptions,
  WsgateClientError,
} from '../../src/client/index.js';
import { noRoutes, type ActionRouter } from '../../src/server/rpc/action-router.js';
import { mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { freePort } from '../support/ports.js';
import { within } from '../support/wait.js';

/** The SDK against the real gateway, over `ws` sockets on 127.0.0.1. */

type Claims = Record<string, unknown>;

/** Resolves with the first status of `type` from now on (or the current one, if it already is). */
function statusOf<T extends ClientStatus['type']>(client: WsgateClient, type: T, timeoutMs = 5_000): Promise<Extract<ClientStatus, { type: T }>> {
  if (client.status.type === type) return Promise.resolve(client.status as Extract<ClientStatus, { type: T }>);
  return within(
    new Promise((resolve) => {
      const off = client.on('status', (status) => {
        if (status.type !== type) return;
        off();
        resolve(status as Extract<ClientStatus, { type: T }>);
      });
    }),
    timeoutMs,
    `status ${type}`,
  );
}

/** The next event `event` of a subscription that satisfies `match`. */
function nextEvent<E extends 'message' | 'join' | 'leave'>(
  subscription: Subscription,
  event: E,
  match: (value: E extends 'message' ? Publication : PresenceChange) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<E extends 'message' ? Publication : PresenceChange> {
  return within(
    new Promise((resolve) => {
      const off = subscription.on(event as 'message', (value: Publication) => {
        const typed = value as unknown as E extends 'message' ? Publication : PresenceChange;
        if (!match(typed)) return;
        off();
        resolve(typed);
      });
    }),
    timeoutMs,
    `${event} on ${subscription.channel}`,
  );
}

function nextDirect(client: WsgateClient, timeoutMs = 5_000): Promise<DirectMessage> {
  return within(new Promise((resolve) => client.once('direct', resolve)), timeoutMs, 'direct message');
}

describe('client SDK against the real gateway', () => {
  let running: RunningGateway;
  const clients: WsgateClient[] = [];

  /** A connected client for `user` that fetches a fresh ticket from the server API for every attempt. */
  async function connectAs(user: string, claims: Claims = {}, options: WsgateClientOptions = {}): Promise<WsgateClient> {
    const client = new WsgateClient({
      url: running.wsUrl,
      WebSocket,
      getTicket: () => mintTicket(running, user, claims),
      backoff: { minDelay: 50, maxDelay: 200 },
      ...options,
    });
    clients.push(client);
    const connected = statusOf(client, 'connected');
    client.connect();
    await connected;
    return client;
  }

  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  describe('one gateway', () => {
    // A backend that answers `echo` at once and never answers `slow`: enough to see replies and client timeouts.
    const actions: ActionRouter = {
      async route(session, parsed) {
        if (parsed.action.type === 'echo') return { echoed: parsed.action.payload };
        if (parsed.action.type === 'slow') return new Promise<never>(() => {});
        return noRoutes.route(session, parsed);
      },
    };

    before(async () => {
      running = await startGateway({}, { actions });
    });
    after(() => running.stop());

    it('publishes to a room and delivers to the other members, not to the publisher', async () => {
      const alice = await connectAs('alice');
      const bob = await connectAs('bob');
      const aliceRoom = alice.subscribe<{ text: string }>('chat:integration-room');
      const bobRoom = bob.subscribe<{ text: string }>('chat:integration-room');
      await Promise.all([aliceRoom.ready, bobRoom.ready]);

      const aliceSaw: string[] = [];
      aliceRoom.on('message', (p) => aliceSaw.push(p.data.text));
      const received = nextEvent(bobRoom, 'message');
      const position = await aliceRoom.publish({ text: 'hello bob' });
      const publication = await received;
      assert.deepEqual(publication.data, { text: 'hello bob' });
      assert.equal(publication.from?.user, 'alice');
      assert.equal(publication.offset, position.offset);
      assert.equal(publication.epoch, position.epoch);

      // Bob answers; alice receives it, and by then she has not received her own publication (one socket, in order).
      const answer = nextEvent(aliceRoom, 'message');
      await bobRoom.publish({ text: 'hi alice' });
      assert.deepEqual((await answer).data, { text: 'hi alice' });
      assert.deepEqual(aliceSaw, ['hi alice']);
      const { publications } = await aliceRoom.history();
      assert.deepEqual(publications.map((p) => p.data), [{ text: 'hello bob' }, { text: 'hi alice' }]);
    });

    it('reports presence with session counts, then join and leave on first and last session', async () => {
      const watcher = await connectAs('watcher');
      const room = watcher.subscribe('chat:integration-presence');
      await room.ready;
      assert.deepEqual(await room.presence(), [{ user: 'watcher', sessions: 1 }]);

      const joined = nextEvent(room, 'join');
      const tab1 = await connectAs('carol');
      const tab2 = await connectAs('carol');
      await tab1.subscribe('chat:integration-presence').ready;
      assert.equal((await joined).user, 'carol');
      await tab2.subscribe('chat:integration-presence').ready;
      assert.deepEqual(await room.presence(), [
        { user: 'carol', sessions: 2 },
        { user: 'watcher', sessions: 1 },
      ]);

      const left = nextEvent(room, 'leave');
      tab1.disconnect();
      await tab2.subscription('chat:integration-presence')!.unsubscribe();
      assert.equal((await left).user, 'carol');
      assert.deepEqual(await room.presence(), [{ user: 'watcher', sessions: 1 }]);
    });

    it('sends direct messages to every session of the recipient and mirrors them to the sender\'s other sessions', async () => {
      const aliceTab1 = await connectAs('alice');
      const aliceTab2 = await connectAs('alice');
      const bob = await connectAs('bob');
      const toBob = nextDirect(bob);
      const mirror = nextDirect(aliceTab2);
      assert.deepEqual(await aliceTab1.send('bob', { text: 'psst' }), { sessions: 1 });
      const delivered = await toBob;
      assert.equal(delivered.from.user, 'alice');
      assert.equal(delivered.to, 'bob');
      assert.deepEqual(delivered.data, { text: 'psst' });
      const mirrored = await mirror;
      assert.equal(mirrored.to, 'bob');
      assert.equal(mirrored.from.user, 'alice');
      assert.equal(mirrored.from.session, delivered.from.session);

      assert.deepEqual(await bob.send('nobody-online', 1), { sessions: 0 });
    });

    it('keeps private namespaces to the users their claims allow', async () => {
      const member = await connectAs('dora', { org: 'acme' });
      await member.subscribe('org:acme').ready;
      await member.subscribe('org:acme/room:ops').ready;
      const outsider = member.subscribe('org:globex');
      await assert.rejects(outsider.ready, (error: unknown) => error instanceof WsgateClientError && error.code === 'CHANNEL_FORBIDDEN');
      assert.equal(outsider.state, 'failed');
      await assert.rejects(member.publish('news:x', 1), (error: unknown) => error instanceof WsgateClientError && error.code === 'PUBLISH_FORBIDDEN');
    });

    it('answers application actions; rejects with NO_ROUTE when no backend owns the type and TIMEOUT when none answers', async () => {
      const client = await connectAs('erin');
      assert.deepEqual(await client.request('echo', { n: 1 }), { echoed: { n: 1 } });
      await assert.rejects(client.request('orders.get', { id: 17 }), (error: unknown) => {
        assert.ok(error instanceof WsgateClientError);
        assert.equal(error.code, 'NO_ROUTE');
        return true;
      });
      const started = Date.now();
      await assert.rejects(client.request('slow', null, { timeout: 150 }), (error: unknown) => {
        assert.ok(error instanceof WsgateClientError);
        assert.equal(error.code, 'TIMEOUT');
        return true;
      });
      assert.ok(Date.now() - started < 2_000);
      // The connection is still good after a timed-out request.
      assert.deepEqual(await client.request('echo', 2), { echoed: 2 });
      assert.equal(client.status.type, 'connected');
    });

    it('stops for good when a newer session replaces this one (kick-oldest, close 4501)', async () => {
      const single = { sessionPolicy: { max: 1, onLimit: 'kick-oldest' } };
      const statuses: ClientStatus[] = [];
      const old = await connectAs('frank', single);
      old.on('status', (status) => statuses.push(status));
      const kicked = statusOf(old, 'disconnected');
      const newer = await connectAs('frank', single);
      const status = await kicked;
      assert.equal(status.code, 4501);
      assert.deepEqual(statuses.map((s) => s.type), ['disconnected']);
      await assert.rejects(old.send('frank', 1), (error: unknown) => error instanceof WsgateClientError && error.code === 'DISCONNECTED');

      // No further attempt: the newer session stays the only one. Give a would-be retry (backoff at most 200 ms) time
      // to happen; nothing announces a reconnect that does not occur.
      const room = newer.subscribe('chat:integration-single');
      await room.ready;
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.deepEqual(statuses.map((s) => s.type), ['disconnected']);
      assert.equal(newer.status.type, 'connected');
      assert.deepEqual(await room.presence(), [{ user: 'frank', sessions: 1 }]);
    });
  });

  describe('gateway restart', () => {
    it('reconnects to a new gateway on the same port, restores subscriptions and receives new messages', async () => {
      const port = await freePort();
      // A short drain spread keeps the test quick; the client honours the `after` hint of the 1012 disconnect.
      const overrides = { port, drain: { reconnectSpreadMs: 200, batchIntervalMs: 0, timeoutMs: 2_000 } };
      running = await startGateway(overrides);
      try {
        const listener = await connectAs('listener');
        const speaker = await connectAs('speaker');
        const room = listener.subscribe<{ n: number }>('chat:integration-restart');
        await room.ready;
        await speaker.subscribe('chat:integration-restart').ready;
        const first = nextEvent(room, 'message');
        await speaker.publish('chat:integration-restart', { n: 1 });
        assert.deepEqual((await first).data, { n: 1 });
        const firstSession = (listener.status as Extract<ClientStatus, { type: 'connected' }>).session;

        const statuses: ClientStatus['type'][] = [];
        listener.on('status', (status) => statuses.push(status.type));
        const reconnecting = statusOf(listener, 'reconnecting');
        const restored = within(new Promise((resolve) => room.once('subscribed', resolve)), 10_000, 'subscription restored');
        const recoveryFailed = within(new Promise((resolve) => room.once('recovery-failed', resolve)), 10_000, 'recovery-failed');
        const speakerBack = within(
          new Promise((resolve) => speaker.subscription('chat:integration-restart')!.once('subscribed', resolve)),
          10_000,
          'speaker restored',
        );
        await running.stop();
        await reconnecting;
        running = await startGateway(overrides);

        const resubscribed = (await restored) as { resubscribed: boolean };
        assert.equal(resubscribed.resubscribed, true);
        // The memory engine of the new node starts a new epoch: the client says plainly that it could not recover.
        await recoveryFailed;
        await speakerBack;
        assert.equal(room.state, 'subscribed');
        const connected = listener.status;
        assert.equal(connected.type, 'connected');
        assert.notEqual(connected.session, firstSession);
        assert.ok(statuses.includes('reconnecting'));

        const second = nextEvent(room, 'message');
        await speaker.publish('chat:integration-restart', { n: 2 });
        assert.deepEqual((await second).data, { n: 2 });
      } finally {
        for (const client of clients.splice(0)) client.disconnect();
        await running.stop();
      }
    });
  });
});
