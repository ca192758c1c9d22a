import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import Pusher from 'pusher';
import type { PusherAppConfig } from '../../src/server/config/schema.js';
import { fromWsgateChannel, pusherChannelInfo, toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import {
  newSocketId, SOCKET_ID_PATTERN, verifyChannelAuth, verifyRequestSignature, verifyUserAuth, webhookSignature,
} from '../../src/server/pusher/signatures.js';

const APP: PusherAppConfig = {
  id: 'app-1', key: 'key-1', secret: 'secret-of-app-1', clientEvents: true, clientEventRate: { rate: 10, burst: 10 },
  maxEventBytes: 10_240, maxPresenceMembers: 100, webhooks: [],
};

function sdk(port = 1): Pusher {
  return new Pusher({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(port), useTLS: false });
}

describe('Pusher signatures, checked against the pusher server SDK', () => {
  it('accepts the channel and user signatures the SDK makes, and nothing else', () => {
    const socketId = newSocketId();
    assert.match(socketId, SOCKET_ID_PATTERN);
    const privateAuth = sdk().authorizeChannel(socketId, 'private-room').auth;
    assert.equal(verifyChannelAuth(APP, socketId, 'private-room', privateAuth), true);
    assert.equal(verifyChannelAuth(APP, socketId, 'private-other', privateAuth), false);
    assert.equal(verifyChannelAuth(APP, newSocketId(), 'private-room', privateAuth), false);
    assert.equal(verifyChannelAuth({ ...APP, secret: 'another-secret' }, socketId, 'private-room', privateAuth), false);

    const presence = sdk().authorizeChannel(socketId, 'presence-room', { user_id: 'u1', user_info: { name: 'Ada' } });
    assert.equal(verifyChannelAuth(APP, socketId, 'presence-room', presence.auth, presence.channel_data), true);
    assert.equal(verifyChannelAuth(APP, socketId, 'presence-room', presence.auth, '{"user_id":"u2"}'), false);

    const user = sdk().authenticateUser(socketId, { id: 'u1', name: 'Ada' });
    assert.equal(verifyUserAuth(APP, socketId, user.user_data, user.auth), true);
    assert.equal(verifyUserAuth(APP, socketId, '{"id":"u2"}', user.auth), false);
  });

  it('accepts the HTTP API requests the SDK signs; a changed body, an old clock or another secret are refused', async () => {
    const requests: Array<{ message: IncomingMessage; body: string }> = [];
    const server = createServer((message, response) => {
      let body = '';
      message.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      message.on('end', () => {
        requests.push({ message, body });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = sdk((server.address() as AddressInfo).port);
    await client.trigger(['chat', 'news'], 'greeting', { text: 'hello' });
    await client.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
    server.close();

    for (const { message, body } of requests) {
      const url = new URL(message.url!, 'http://localhost');
      const query = Object.fromEntries(url.searchParams);
      const request = { method: message.method!, path: url.pathname, query, body };
      assert.equal(verifyRequestSignature(APP, request, Date.now(), 600), null, `${message.method} ${url.pathname}`);
      assert.equal(verifyRequestSignature(APP, request, Date.now() + 601_000, 600)?.status, 401);
      assert.equal(verifyRequestSignature({ ...APP, secret: 'another-secret' }, request, Date.now(), 600)?.status, 401);
      if (body.length > 0) assert.equal(verifyRequestSignature(APP, { ...request, body: `${body} ` }, Date.now(), 600)?.status, 400);
    }
    assert.equal(requests.length, 2);
  });

  it('signs webhooks as the SDK verifies them', () => {
    const body = JSON.stringify({ time_ms: Date.now(), events: [{ name: 'channel_occupied', channel: 'chat' }] });
    const webhook = sdk().webhook({ headers: { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': webhookSignature(APP, body) }, rawBody: body });
    assert.equal(webhook.isValid(), true);
  });
});

describe('Pusher channel names', () => {
  it('map onto wsgate channels of the app and back, by kind', () => {
    for (const [name, kind, cache, channel] of [
      ['chat', 'public', false, 'pusher-app-1:chat'],
      ['private-room', 'private', false, 'pusher-app-1:private-room'],
      ['private-encrypted-vault', 'private-encrypted', false, 'pusher-app-1:private-encrypted-vault'],
      ['presence-lobby', 'presence', false, 'pusher-app-1-presence:presence-lobby'],
      ['cache-ticker', 'public', true, 'pusher-app-1-cache:cache-ticker'],
      ['presence-cache-x,y;z', 'presence', true, 'pusher-app-1-presence-cache:presence-cache-x,y;z'],
    ] as const) {
      assert.deepEqual(pusherChannelInfo(name), { kind, cache });
      assert.equal(toWsgateChannel('app-1', name), channel);
      assert.deepEqual(fromWsgateChannel(channel), { appId: 'app-1', name });
    }
    assert.deepEqual(fromWsgateChannel('pusher-x-presence:chat'), { appId: 'x-presence', name: 'chat' });
    assert.equal(fromWsgateChannel('pusher-app-1:presence-lobby'), null);
    assert.equal(fromWsgateChannel('chat:lobby'), null);
    assert.equal(toWsgateChannel('app-1', 'has space'), null);
    assert.equal(toWsgateChannel('app-1', 'x'.repeat(165)), null);
  });
});
