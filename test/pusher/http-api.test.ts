import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Pusher from 'pusher';
import { toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import { connectAs, type Frame, type TestClient } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { captureLogs } from '../support/log-capture.js';
import { APP, PUSHER_APPS, pusherSdk, refusal, sdkPost, signedFetch, SMALL_APP } from './support/pusher-http.js';

/** A Pusher event as a wsgate-protocol subscriber of the app's channel sees it. */
function pusherEvent(frame: Frame): { channel: string; event: string; data: string } {
  const data = frame.data as { event: string; data: string };
  return { channel: frame.channel as string, event: data.event, data: data.data };
}

describe('Pusher HTTP API, driven by the unmodified pusher SDK', { timeout: 60_000 }, () => {
  let running: RunningGateway;
  const clients: TestClient[] = [];

  before(async () => {
    running = await startGateway({ pusher: { apps: PUSHER_APPS } });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await running.stop();
  });

  /** A wsgate-protocol session of `user`, subscribed server-side to the app's channels `names`. */
  async function subscriber(user: string, ...names: string[]): Promise<TestClient> {
    const client = await connectAs(running, user);
    clients.push(client);
    for (const name of names) {
      const channel = toWsgateChannel(APP.id, name)!;
      const subscribed = client.next('subscribed', (frame) => frame.channel === channel);
      await running.gateway.commands.changeSubscription('subscribe', channel, { session: client.welcome!.session as string });
      await subscribed;
    }
    return client;
  }

  it('trigger reaches the subscribers of every channel named, and answers the info asked for', async () => {
    const client = await subscriber('ann', 'news', 'presence-room');
    const messages = [client.next('message', (frame) => frame.channel === toWsgateChannel(APP.id, 'news')), client.next('message', (frame) => frame.channel === toWsgateChannel(APP.id, 'presence-room'))];
    const response = await pusherSdk(running.port).trigger(['news', 'presence-room'], 'greeting', { text: 'hello' }, { info: 'subscription_count,user_count' });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      channels: { news: { subscription_count: 1 }, 'presence-room': { subscription_count: 1, user_count: 1 } },
    });
    for (const [index, name] of ['news', 'presence-room'].entries()) {
      assert.deepEqual(pusherEvent(await messages[index]!), { channel: toWsgateChannel(APP.id, name), event: 'greeting', data: '{"text":"hello"}' });
    }
    const plain = await pusherSdk(running.port).trigger('news', 'greeting', 'plain text');
    assert.deepEqual(await plain.json(), {}, 'without info the answer is empty');
  });

  it('triggerBatch sends every event in order, with info per event', async () => {
    const client = await subscriber('bea', 'batch-a', 'batch-b');
    const since = client.frames.length;
    const response = await pusherSdk(running.port).triggerBatch([
      { channel: 'batch-a', name: 'one', data: '1' },
      { channel: 'batch-b', name: 'two', data: '2', info: 'subscription_count' },
      { channel: 'batch-a', name: 'three', data: '3' },
    ]);
    assert.deepEqual(await response.json(), { batch: [{}, { subscription_count: 1 }, {}] });
    await client.waitFor((frame) => frame.type === 'message' && pusherEvent(frame).event === 'three', 5_000, since);
    const events = client.frames.slice(since).filter((frame) => frame.type === 'message').map((frame) => pusherEvent(frame).event);
    assert.deepEqual(events, ['one', 'two', 'three']);
  });

  it('an encrypted channel relays what the SDK encrypted, opaque; cache channels are listed like the others', async () => {
    const client = await subscriber('ava', 'private-encrypted-vault', 'cache-weather', 'presence-cache-desk');
    const sealed = client.next('message', (frame) => frame.channel === toWsgateChannel(APP.id, 'private-encrypted-vault'));
    const sdk = new Pusher({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(running.port), useTLS: false, encryptionMasterKeyBase64: Buffer.alloc(32, 7).toString('base64') });
    await sdk.trigger('private-encrypted-vault', 'secret', { pin: 1234 });
    const { event, data } = pusherEvent(await sealed);
    assert.equal(event, 'secret');
    assert.deepEqual(Object.keys(JSON.parse(data)).sort(), ['ciphertext', 'nonce'], 'the relay carries the SDK\'s envelope');
    assert.ok(!data.includes('1234'));
    const cached = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'cache-' } })).json();
    assert.deepEqual(cached, { channels: { 'cache-weather': {} } });
    const presenceCache = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-cache-', info: 'user_count' } })).json();
    assert.deepEqual(presenceCache, { channels: { 'presence-cache-desk': { user_count: 1 } } });
  });

  it('socket_id leaves that session out; the others get the event', async () => {
    const sender = await subscriber('cal', 'room-x');
    const other = await subscriber('dan', 'room-x');
    const senderSince = sender.frames.length;
    const reached = other.next('message', (frame) => pusherEvent(frame).event === 'excluded');
    // The SDK's own post (the `socket_id` of trigger must look like a Pusher one; a wsgate session's id does not).
    await sdkPost(pusherSdk(running.port), '/events', { name: 'excluded', channels: ['room-x'], data: 'x', socket_id: sender.welcome!.session });
    await reached;
    // One channel's publications arrive in order: once the next one is there, the excluded one is known not to be.
    await pusherSdk(running.port).trigger('room-x', 'everyone', 'y', { socket_id: '123.456' });
    await sender.waitFor((frame) => frame.type === 'message' && pusherEvent(frame).event === 'everyone', 5_000, senderSince);
    const seen = sender.frames.slice(senderSince).filter((frame) => frame.type === 'message').map((frame) => pusherEvent(frame).event);
    assert.deepEqual(seen, ['everyone']);
  });

  it('lists occupied channels by prefix, one channel, and a presence channel\'s users', async () => {
    await subscriber('eve', 'presence-lobby', 'list-me', 'private-list-me');
    await subscriber('fay', 'presence-lobby');
    await subscriber('eve', 'presence-lobby');
    const sdk = pusherSdk(running.port);
    const presence = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-lobby', info: 'user_count,subscription_count' } })).json();
    assert.deepEqual(presence, { channels: { 'presence-lobby': { user_count: 2, subscription_count: 3 } } });
    const listed = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'list-' } })).json();
    assert.deepEqual(listed, { channels: { 'list-me': {} } });
    const privates = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'private-list' } })).json();
    assert.deepEqual(privates, { channels: { 'private-list-me': {} } });

    assert.deepEqual(await (await sdk.get({ path: '/channels/presence-lobby', params: { info: 'user_count,subscription_count' } })).json(), {
      occupied: true, user_count: 2, subscription_count: 3,
    });
    assert.deepEqual(await (await sdk.get({ path: '/channels/nobody-here' })).json(), { occupied: false });
    const users = (await (await sdk.get({ path: '/channels/presence-lobby/users' })).json()) as { users: Array<{ id: string }> };
    assert.deepEqual(users.users.map((user) => user.id).sort(), ['eve', 'fay']);

    assert.equal((await refusal(sdk.get({ path: '/channels/list-me', params: { info: 'user_count' } }))).status, 400, 'user_count of a non-presence channel');
    assert.equal((await refusal(sdk.get({ path: '/channels', params: { info: 'user_count' } }))).status, 400, 'user_count without a presence- prefix');
    assert.equal((await refusal(sdk.get({ path: '/channels/list-me/users' }))).status, 400, 'users of a non-presence channel');
  });

  it('sendToUser and users/{id}/events reach every session of the user as an action', async () => {
    const first = await subscriber('gus');
    const second = await subscriber('gus');
    const actions = [first, second].map((client) => client.next('MEMBER_DEACTIVATED'));
    await pusherSdk(running.port).sendToUser('gus', 'MEMBER_DEACTIVATED', { reason: 'left' });
    for (const action of await Promise.all(actions)) assert.deepEqual(action, { type: 'MEMBER_DEACTIVATED', payload: '{"reason":"left"}' });

    assert.equal((await refusal(pusherSdk(running.port).sendToUser('gus', 'message', 'x'))).status, 400, 'a wsgate frame type is no user event');
    const direct = first.next('NOTICE');
    await sdkPost(pusherSdk(running.port), '/users/gus/events', { name: 'NOTICE', data: 'hi' });
    assert.deepEqual(await direct, { type: 'NOTICE', payload: 'hi' });
  });

  it('terminateUserConnections ends every session of the user, not to be reconnected', async () => {
    const first = await subscriber('hal');
    const second = await subscriber('hal');
    const bystander = await subscriber('ida');
    const response = await pusherSdk(running.port).terminateUserConnections('hal');
    assert.equal(response.status, 200);
    for (const closed of await Promise.all([first.closed, second.closed])) assert.equal(closed.code, 4500);
    const answered = await bystander.request({ type: 'ping' }).catch(() => null);
    assert.ok(answered, 'another user stays connected');
  });

  it('refuses wrong secrets, stale timestamps, wrong body MD5, unknown apps and keys with Pusher\'s statuses', async () => {
    const body = JSON.stringify({ name: 'e', channel: 'news', data: 'd' });
    assert.equal((await signedFetch(running.port, 'POST', `/apps/${APP.id}/events`, { body })).status, 200, 'a correct hand-signed request');
    const wrongSecret = await refusal(pusherSdk(running.port, { ...APP, secret: 'not-the-secret-of-app-1' }).trigger('news', 'e', 'd'));
    assert.equal(wrongSecret.status, 401);
    assert.match(wrongSecret.body!, /invalid signature/);
    const stale = await signedFetch(running.port, 'POST', `/apps/${APP.id}/events`, { body, timestamp: Math.floor(Date.now() / 1000) - 601 });
    assert.equal(stale.status, 401);
    assert.match(stale.text, /auth_timestamp/);
    const md5 = await signedFetch(running.port, 'POST', `/apps/${APP.id}/events`, { body, bodyMd5: '0'.repeat(32) });
    assert.deepEqual(md5, { status: 400, text: 'body_md5 does not match the body' });
    assert.equal((await signedFetch(running.port, 'POST', `/apps/${APP.id}/events`, { body, key: 'another-key' })).status, 401, 'unknown auth_key');
    assert.equal((await signedFetch(running.port, 'GET', `/apps/${APP.id}/channels`, { params: { auth_version: '2.0' } })).status, 400, 'auth_version');
    const unsigned = await fetch(`${running.httpUrl}/apps/${APP.id}/channels`);
    assert.equal(unsigned.status, 401);
    assert.equal((await refusal(pusherSdk(running.port, { ...APP, id: 'no-such-app' }).trigger('news', 'e', 'd'))).status, 404);
  });

  it('refuses over-size data with 413, and malformed events with 400', async () => {
    const small = pusherSdk(running.port, SMALL_APP);
    assert.equal((await small.trigger('news', 'e', 'x'.repeat(64))).status, 200, 'exactly maxEventBytes');
    const tooLarge = await refusal(small.trigger('news', 'e', 'x'.repeat(65)));
    assert.equal(tooLarge.status, 413);
    assert.equal((await refusal(small.triggerBatch([{ channel: 'news', name: 'e', data: 'x'.repeat(65) }]))).status, 413);
    assert.equal((await refusal(pusherSdk(running.port).trigger('news', 'e', 'é'.repeat(5_121)))).status, 413, 'bytes, not characters');

    const sdk = pusherSdk(running.port);
    const post = (body: Record<string, unknown>, path = '/events') => refusal(sdkPost(sdk, path, body));
    const channels = Array.from({ length: 101 }, (_, index) => `c${index}`);
    assert.equal((await post({ name: 'e', channels, data: 'd' })).status, 400, 'more than 100 channels');
    assert.equal((await post({ name: 'e', channel: 'bad channel!', data: 'd' })).status, 400, 'a channel name Pusher refuses');
    assert.equal((await post({ name: 'e', channel: 'news', data: { not: 'a string' } })).status, 400, 'data must be a string');
    assert.equal((await post({ channel: 'news', data: 'd' })).status, 400, 'no name');
    assert.equal((await post({ name: 'x'.repeat(201), channel: 'news', data: 'd' })).status, 400, 'a name too long');
    assert.equal((await post({ name: 'pusher_internal:subscription_succeeded', channel: 'news', data: 'd' })).status, 400, 'Pusher\'s own events');
    assert.equal((await post({ name: 'e', channel: 'news', data: 'd', info: 'everything' })).status, 400, 'an unknown info attribute');
    const eleven = Array.from({ length: 11 }, () => ({ channel: 'news', name: 'e', data: 'd' }));
    assert.equal((await post({ batch: eleven }, '/batch_events')).status, 400, 'more than 10 events in a batch');
    const badJson = await signedFetch(running.port, 'POST', `/apps/${APP.id}/events`, { body: '{"name":' });
    assert.equal(badJson.status, 400);
  });

  it('leaves the native server API as it was', async () => {
    const response = await fetch(`${running.httpUrl}/api/info`);
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { code: string }).code, 'UNAUTHORIZED');
  });
});

describe('Pusher HTTP API audit lines', () => {
  it('every state-changing call logs one audit line with the app, route, target and status; never the signature', async () => {
    const { logger, lines, output } = captureLogs();
    const running = await startGateway({ log: { level: 'info' }, pusher: { apps: PUSHER_APPS } }, { logger });
    try {
      const sdk = pusherSdk(running.port);
      await sdk.trigger('news', 'e', 'd');
      await sdk.terminateUserConnections('ann');
      await sdk.get({ path: '/channels' });
      await refusal(pusherSdk(running.port, { ...APP, secret: 'not-the-secret-of-app-1' }).trigger('news', 'e', 'd'));
    } finally {
      await running.stop();
    }
    const audit = lines.filter((line) => line.msg === 'Pusher API call').map((line) => ({ level: line.level, ...line.audit }));
    assert.deepEqual(audit, [
      { level: 30, app: APP.id, method: 'POST', route: '/apps/:appId/events', target: {}, status: 200 },
      { level: 30, app: APP.id, method: 'POST', route: '/apps/:appId/users/:user/terminate_connections', target: { user: 'ann' }, status: 200 },
      { level: 30, app: APP.id, method: 'POST', route: '/apps/:appId/events', target: {}, status: 401 },
    ]);
    assert.ok(!output().includes('auth_signature'), 'the signed query is never logged');
    assert.ok(!output().includes(APP.secret));
  });
});
