import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import WebSocket from 'ws';
import { PUSHER_CLOSE, PUSHER_TERMINATED } from '../../src/server/codec/pusher-v7/close-codes.js';
import { toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { encodeActionFrame } from '../../src/server/codec/node-frames.js';
import {
  APP, ENCRYPTION_MASTER_KEY, connected, stateReached, nextError, nextErrorCode, nextEvent, nextEventWithMetadata, pusherClient, subscribed, type Pusher, type PusherClientOptions,
} from '../helpers/pusher-clients.js';

/** A second app on the same gateway, with client events off. */
const QUIET_APP = { id: 'quiet', key: 'quiet-key', secret: 'quiet-secret-0123' };

/** Publishes a Pusher event the way the HTTP API does: a wsgate publication whose data is the event. */
function trigger(running: RunningGateway, name: string, event: string, data: unknown): Promise<unknown> {
  const channel = toWsgateChannel(APP.id, name)!;
  return running.gateway.channels.publishFromServer(channel, JSON.stringify({ event, data: JSON.stringify(data) }));
}

/**
 * A gateway started before a block's tests and stopped after them, with the pusher-js clients the tests made (each
 * disconnected at the end).
 */
function pusherGateway(overrides: Parameters<typeof startGateway>[0]) {
  let running: RunningGateway | undefined;
  const clients: Pusher[] = [];
  before(async () => {
    running = await startGateway(overrides);
  });
  after(async () => {
    for (const made of clients) made.disconnect();
    await running?.stop();
  });
  return {
    get running(): RunningGateway {
      return running!;
    },
    client(options?: PusherClientOptions): Pusher {
      const made = pusherClient(running!.port, options);
      clients.push(made);
      return made;
    },
  };
}

describe('Pusher protocol 7 over WebSocket, with the unmodified pusher-js', () => {
  const gateway = pusherGateway({ pusher: { apps: [APP] } });
  const client = gateway.client;

  it('connects with a socket id in Pusher\'s form, the gateway session id', async () => {
    const pusher = client();
    const socketId = await connected(pusher);
    assert.match(socketId, /^\d+\.\d+$/);
    assert.ok(gateway.running.gateway.hub.sessions.has(socketId));
  });

  it('answers pusher:ping with pusher:pong', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.running.port}/app/${APP.key}?protocol=7`);
    const [welcome] = await once(ws, 'message');
    const established = JSON.parse(String(welcome)) as { event: string; data: string };
    assert.equal(established.event, 'pusher:connection_established');
    assert.equal((JSON.parse(established.data) as { activity_timeout: number }).activity_timeout, 120);
    ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
    const [pong] = await once(ws, 'message');
    assert.equal((JSON.parse(String(pong)) as { event: string }).event, 'pusher:pong');
    ws.close();
  });

  it('closes an unknown key with 4001 and an old protocol with 4007, after a pusher:error', async () => {
    for (const [path, code] of [[`/app/nope?protocol=7`, PUSHER_CLOSE.APP_NOT_FOUND], [`/app/${APP.key}?protocol=5`, PUSHER_CLOSE.UNSUPPORTED_PROTOCOL]] as const) {
      const ws = new WebSocket(`ws://127.0.0.1:${gateway.running.port}${path}`);
      const messages: string[] = [];
      ws.on('message', (data) => messages.push(String(data)));
      const [closeCode] = (await once(ws, 'close')) as [number];
      assert.equal(closeCode, code, path);
      assert.equal((JSON.parse(JSON.parse(messages[0]!).data as string) as { code: number }).code, code);
    }
  });

  it('delivers events on public channels, as the HTTP API publishes them', async () => {
    const pusher = client();
    const { channel } = await subscribed(pusher, 'news');
    const event = nextEvent<{ headline: string }>(channel, 'breaking');
    await trigger(gateway.running, 'news', 'breaking', { headline: 'hello' });
    assert.deepEqual(await event, { headline: 'hello' });
  });

  it('subscribes to private and encrypted channels with the server SDK\'s signature, refuses a bad one', async () => {
    const pusher = client();
    const { channel } = await subscribed(pusher, 'private-orders');
    const event = nextEvent(channel, 'created');
    await trigger(gateway.running, 'private-orders', 'created', { id: 1 });
    assert.deepEqual(await event, { id: 1 });

    const forged = client({ badSecret: true });
    const refused = forged.subscribe('private-orders');
    const error = await nextEvent<{ status: number; type: string }>(refused, 'pusher:subscription_error');
    assert.equal(error.status, 401);
    assert.ok(!gateway.running.gateway.hub.sessions.get(forged.connection.socket_id)?.subscriptions.has(toWsgateChannel(APP.id, 'private-orders')!));
  });

  it('relays private-encrypted- events as they are: pusher-js decrypts what the app\'s servers encrypted', async () => {
    const name = 'private-encrypted-vault';
    const pusher = client();
    const { channel } = await subscribed(pusher, name);
    const event = nextEvent(channel, 'secret');
    // What the server SDK's trigger sends for an encrypted channel: a secretbox under the channel's shared secret.
    const sharedSecret = createHash('sha256').update(Buffer.concat([Buffer.from(name), ENCRYPTION_MASTER_KEY])).digest();
    const nonce = nacl.randomBytes(24);
    const ciphertext = nacl.secretbox(Buffer.from(JSON.stringify({ pin: 1234 })), nonce, sharedSecret);
    const sealed = JSON.stringify({ nonce: Buffer.from(nonce).toString('base64'), ciphertext: Buffer.from(ciphertext).toString('base64') });
    await gateway.running.gateway.channels.publishFromServer(toWsgateChannel(APP.id, name)!, JSON.stringify({ event: 'secret', data: sealed }));
    assert.deepEqual(await event, { pin: 1234 });
  });

  it('unsubscribes with pusher:unsubscribe', async () => {
    const pusher = client();
    await subscribed(pusher, 'private-leaving');
    const session = gateway.running.gateway.hub.sessions.get(pusher.connection.socket_id)!;
    const channel = toWsgateChannel(APP.id, 'private-leaving')!;
    assert.ok(session.subscriptions.has(channel));
    pusher.unsubscribe('private-leaving');
    while (session.subscriptions.has(channel)) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gateway.running.gateway.hub.subscriberCount(channel), 0);
  });
});

describe('Pusher presence, cache channels, client events and users', () => {
  const gateway = pusherGateway({
    pusher: { apps: [{ ...APP, clientEventRate: { rate: 0.001, burst: 3 } }, { ...QUIET_APP, clientEvents: false }] },
  });
  const client = gateway.client;

  it('lists members with their info, announces a user\'s first connection and last one only', async () => {
    const alice = client({ member: { user_id: 'alice', user_info: { name: 'Alice' } } });
    const first = await subscribed<{ count: number; me: { id: string } }>(alice, 'presence-room');
    assert.equal(first.data.count, 1);
    assert.equal(first.data.me.id, 'alice');

    const added = nextEvent<{ id: string; info: unknown }>(first.channel, 'pusher:member_added');
    const bob = client({ member: { user_id: 'bob', user_info: { name: 'Bob' } } });
    const second = await subscribed<{ count: number; members: Record<string, unknown> }>(bob, 'presence-room');
    assert.deepEqual(await added, { id: 'bob', info: { name: 'Bob' } });
    assert.equal(second.data.count, 2);
    assert.deepEqual(second.data.members, { alice: { name: 'Alice' }, bob: { name: 'Bob' } });

    // Bob's second connection is not a new member; its end is not a leave either.
    const bobAgain = client({ member: { user_id: 'bob', user_info: { name: 'Bob' } } });
    await subscribed(bobAgain, 'presence-room');
    const removed = nextEvent<{ id: string }>(first.channel, 'pusher:member_removed');
    bobAgain.disconnect();
    bob.disconnect();
    assert.deepEqual(await removed, { id: 'bob', info: { name: 'Bob' } });
    const members = await gateway.running.gateway.engine.presence.members(toWsgateChannel(APP.id, 'presence-room')!);
    assert.deepEqual(members, [{ user: 'alice', sessions: 1, info: { name: 'Alice' } }]);
  });

  it('refuses presence channel data the app did not sign', async () => {
    const forged = client({ badSecret: true, member: { user_id: 'mallory' } });
    const channel = forged.subscribe('presence-room');
    assert.equal((await nextEvent<{ status: number }>(channel, 'pusher:subscription_error')).status, 401);
  });

  it('sends a cache channel\'s last event on subscribe, or pusher:cache_miss', async () => {
    await trigger(gateway.running, 'cache-prices', 'price', { eur: 1 });
    await trigger(gateway.running, 'cache-prices', 'price', { eur: 2 });
    const pusher = client();
    const channel = pusher.subscribe('cache-prices');
    assert.deepEqual(await nextEvent(channel, 'price'), { eur: 2 });
    const empty = pusher.subscribe('private-cache-empty');
    await nextEvent(empty, 'pusher:cache_miss');
  });

  it('relays client events to the other subscribers, with the sender\'s user_id on presence channels', async () => {
    const alice = client({ member: { user_id: 'alice' } });
    const carol = client({ member: { user_id: 'carol' } });
    const [fromAlice, toCarol] = [await subscribed(alice, 'presence-typing'), await subscribed(carol, 'presence-typing')];
    const received = nextEventWithMetadata(toCarol.channel, 'client-typing');
    let echoed = false;
    fromAlice.channel.bind('client-typing', () => (echoed = true));
    assert.ok(fromAlice.channel.trigger('client-typing', { typing: true }));
    assert.deepEqual(await received, { data: { typing: true }, userId: 'alice' });
    // A later event reaches Alice: had her own client event come back, it would have come before it.
    const later = nextEvent(fromAlice.channel, 'done');
    await trigger(gateway.running, 'presence-typing', 'done', {});
    await later;
    assert.equal(echoed, false);

    const privately = [await subscribed(alice, 'private-chat'), await subscribed(carol, 'private-chat')];
    const plain = nextEventWithMetadata(privately[1]!.channel, 'client-note');
    privately[0]!.channel.trigger('client-note', 'hi');
    assert.deepEqual(await plain, { data: 'hi', userId: undefined });
  });

  it('answers client events over the connection\'s rate with error 4301, and refuses them where the app turned them off', async () => {
    const pusher = client();
    const { channel } = await subscribed(pusher, 'private-burst');
    const error = nextErrorCode(pusher);
    // The connection's burst is 3.
    for (let i = 0; i < 4; i++) channel.trigger('client-burst', { i });
    assert.equal(await error, PUSHER_CLOSE.CLIENT_EVENT_RATE_LIMIT);
    assert.equal(pusher.connection.state, 'connected');

    const quiet = client({ app: QUIET_APP });
    const quietChannel = (await subscribed(quiet, 'private-burst')).channel;
    assert.equal(gateway.running.gateway.hub.sessions.get(quiet.connection.socket_id)!.identity.pusherApp, QUIET_APP.id);
    const refused = nextError(quiet);
    quietChannel.trigger('client-burst', {});
    assert.deepEqual(await refused, { code: null, message: 'client events are not enabled for this app' });
  });

  it('signs a user in: user events reach every connection of the user, a bad signature closes with 4009', async () => {
    const phone = client({ user: { id: 'dana' } });
    const laptop = client({ user: { id: 'dana' } });
    phone.signin();
    laptop.signin();
    await Promise.all([phone.user.signinDonePromise, laptop.user.signinDonePromise]);
    const session = gateway.running.gateway.hub.sessions.get(phone.connection.socket_id)!;
    assert.equal(session.user, 'dana');
    assert.equal(gateway.running.gateway.hub.userSessions('dana').length, 2);
    assert.equal((await gateway.running.gateway.engine.registry.getUserSessions('dana')).length, 2);

    const events = [nextEvent(phone.user, 'MEMBER_DEACTIVATED'), nextEvent(laptop.user, 'MEMBER_DEACTIVATED')];
    const delivered = await gateway.running.gateway.node.delivery.toUser('dana', encodeActionFrame('MEMBER_DEACTIVATED', JSON.stringify({ reason: 'left' })));
    assert.equal(delivered, 2);
    assert.deepEqual(await Promise.all(events), [{ reason: 'left' }, { reason: 'left' }]);

    // terminate_connections: every connection of the user closes with 4009, and pusher-js stays away.
    const terminated = [nextErrorCode(phone), nextErrorCode(laptop)];
    assert.equal(await gateway.running.gateway.commands.disconnect({ user: 'dana' }, PUSHER_TERMINATED), 2);
    assert.deepEqual(await Promise.all(terminated), [PUSHER_CLOSE.UNAUTHORIZED, PUSHER_CLOSE.UNAUTHORIZED]);
    // 4009 is "refused" to pusher-js: it ends up disconnected instead of retrying.
    await stateReached(phone, 'disconnected');

    const forged = client({ user: { id: 'dana' }, badSecret: true });
    const closed = nextErrorCode(forged);
    forged.signin();
    assert.equal(await closed, PUSHER_CLOSE.UNAUTHORIZED);
  });
});

describe('Pusher session policy and drain', () => {
  it('applies the session policy to signed-in users: kick-oldest ends the older connection with 4009', async () => {
    const running = await startGateway({ pusher: { apps: [APP] }, sessions: { max: 1, onLimit: 'kick-oldest' } });
    const older = pusherClient(running.port, { user: { id: 'erin' } });
    const newer = pusherClient(running.port, { user: { id: 'erin' } });
    try {
      older.signin();
      await older.user.signinDonePromise;
      const kicked = nextErrorCode(older);
      newer.signin();
      await newer.user.signinDonePromise;
      assert.equal(await kicked, PUSHER_CLOSE.UNAUTHORIZED);
      assert.deepEqual(running.gateway.hub.userSessions('erin').map((session) => session.id), [newer.connection.socket_id]);
    } finally {
      older.disconnect();
      newer.disconnect();
      await running.stop();
    }
  });

  it('subscriptions share the native subscribe rate limit: over it, pusher:error 4301', async () => {
    const running = await startGateway({ pusher: { apps: [APP] }, limits: { rate: { subscribe: { rate: 0.001, burst: 2 } } } });
    const pusher = pusherClient(running.port);
    try {
      await subscribed(pusher, 'first');
      await subscribed(pusher, 'second');
      const refused = nextError(pusher);
      pusher.subscribe('third');
      assert.equal((await refused).code, PUSHER_CLOSE.CLIENT_EVENT_RATE_LIMIT);
      assert.equal(pusher.connection.state, 'connected');
    } finally {
      pusher.disconnect();
      await running.stop();
    }
  });

  it('a draining node closes with 4200 and pusher-js comes back to the node that replaces it', async () => {
    const first = await startGateway({ pusher: { apps: [APP] } });
    const pusher = pusherClient(first.port);
    let replacement: RunningGateway | undefined;
    try {
      const before = await connected(pusher);
      const code = nextErrorCode(pusher);
      const stopped = first.stop();
      assert.equal(await code, PUSHER_CLOSE.RECONNECT);
      await stopped;
      replacement = await startGateway({ port: first.port, pusher: { apps: [APP] } });
      const reconnected = await new Promise<string>((resolve) => pusher.connection.bind('connected', () => resolve(pusher.connection.socket_id)));
      assert.notEqual(reconnected, before);
      assert.ok(replacement.gateway.hub.sessions.has(reconnected));
    } finally {
      pusher.disconnect();
      await replacement?.stop();
    }
  });
});
