import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { once } from 'node:events';
import WebSocket from 'ws';
import { PUSHER_CLOSE } from '../../src/server/codec/pusher-v7/close-codes.js';
import { toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { APP, connected, nextEvent, pusherClient, subscribed, type Pusher, type PusherClientOptions } from '../helpers/pusher-clients.js';

/** Publishes a Pusher event the way the HTTP API does: a wsgate publication whose data is the event. */
function trigger(running: RunningGateway, name: string, event: string, data: unknown): Promise<unknown> {
  const channel = toWsgateChannel(APP.id, name)!;
  return running.gateway.channels.publishFromServer(channel, JSON.stringify({ event, data: JSON.stringify(data) }));
}

describe('Pusher protocol 7 over WebSocket, with the unmodified pusher-js', () => {
  let running: RunningGateway;
  const clients: Pusher[] = [];
  const client = (options?: PusherClientOptions) => {
    const made = pusherClient(running.port, options);
    clients.push(made);
    return made;
  };

  before(async () => {
    running = await startGateway({ pusher: { apps: [{ ...APP, clientEventRate: { rate: 1, burst: 3 } }] } });
  });
  after(async () => {
    for (const made of clients) made.disconnect();
    await running.stop();
  });

  it('connects with a socket id in Pusher\'s form, the gateway session id', async () => {
    const pusher = client();
    const socketId = await connected(pusher);
    assert.match(socketId, /^\d+\.\d+$/);
    assert.ok(running.gateway.hub.sessions.has(socketId));
  });

  it('answers pusher:ping with pusher:pong', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${running.port}/app/${APP.key}?protocol=7`);
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
      const ws = new WebSocket(`ws://127.0.0.1:${running.port}${path}`);
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
    await trigger(running, 'news', 'breaking', { headline: 'hello' });
    assert.deepEqual(await event, { headline: 'hello' });
  });

  it('subscribes to private and encrypted channels with the server SDK\'s signature, refuses a bad one', async () => {
    const pusher = client();
    const { channel } = await subscribed(pusher, 'private-orders');
    const event = nextEvent(channel, 'created');
    await trigger(running, 'private-orders', 'created', { id: 1 });
    assert.deepEqual(await event, { id: 1 });

    const forged = client({ badSecret: true });
    const refused = forged.subscribe('private-orders');
    const error = await nextEvent<{ status: number; type: string }>(refused, 'pusher:subscription_error');
    assert.equal(error.status, 401);
    assert.ok(!running.gateway.hub.sessions.get(forged.connection.socket_id)?.subscriptions.has(toWsgateChannel(APP.id, 'private-orders')!));
  });

  it('unsubscribes with pusher:unsubscribe', async () => {
    const pusher = client();
    await subscribed(pusher, 'private-leaving');
    const session = running.gateway.hub.sessions.get(pusher.connection.socket_id)!;
    const channel = toWsgateChannel(APP.id, 'private-leaving')!;
    assert.ok(session.subscriptions.has(channel));
    pusher.unsubscribe('private-leaving');
    while (session.subscriptions.has(channel)) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(running.gateway.hub.subscriberCount(channel), 0);
  });
});
