import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  CloseCode,
  type Publication,
  type PushedAction,
  type RecoveredEvent,
  type RecoveryFailedEvent,
  type Subscription,
  WsgateClientError,
  type WsgateClient,
} from '../../src/client/index.js';
import { createClient, nextStatus, ScriptedGateway, type ScriptedSession } from './scripted-gateway.js';

describe('client requests, subscriptions and pushes', () => {
  let gateway: ScriptedGateway;
  let client: WsgateClient;
  let session: ScriptedSession;

  /** Connects a fresh client and returns the gateway side of its session. */
  async function connect(options: Parameters<typeof createClient>[1] = {}): Promise<void> {
    ({ client } = createClient(gateway.url, options));
    const connected = nextStatus(client, 'connected');
    client.connect();
    session = await gateway.nextSession();
    session.welcome('s1');
    await connected;
  }

  /** Drops the connection with a reconnect code and returns the next session, before its welcome. */
  async function reconnect(code: number = CloseCode.SERVICE_RESTART): Promise<ScriptedSession> {
    session.close(code);
    session = await gateway.nextSession();
    return session;
  }

  beforeEach(async () => {
    gateway = await ScriptedGateway.start();
  });
  afterEach(async () => {
    client.disconnect();
    await gateway.close();
  });

  it('sends application actions with an id and resolves with the reply payload', async () => {
    await connect();
    const reply = client.request<{ total: number }>('orders.count', { status: 'open' });
    const frame = await session.expect('orders.count');
    assert.deepEqual(frame.payload, { status: 'open' });
    assert.equal(typeof frame.id, 'number');
    session.send({ type: 'reply', id: frame.id, payload: { total: 3 } });
    assert.deepEqual(await reply, { total: 3 });
  });

  it('rejects with the gateway error code', async () => {
    await connect();
    const reply = client.request('nobody.owns.this');
    const frame = await session.next();
    session.send({ type: 'error', id: frame.id, code: 'NO_ROUTE', message: 'no backend handles this action type' });
    await assert.rejects(reply, (error: unknown) => {
      assert.ok(error instanceof WsgateClientError);
      assert.equal(error.name, 'WsgateClientError');
      assert.equal(error.code, 'NO_ROUTE');
      assert.equal(error.message, 'no backend handles this action type');
      return true;
    });
  });

  it('carries retryAfter of rate-limit errors', async () => {
    await connect();
    const published = client.publish('chat:lobby', 'hi');
    const frame = await session.expect('publish');
    session.send({ type: 'error', id: frame.id, code: 'RATE_LIMITED', message: 'slow down', retryAfter: 2 });
    await assert.rejects(published, { code: 'RATE_LIMITED', retryAfter: 2 });
  });

  it('times out a request the gateway never answers, and ignores the late reply', async () => {
    await connect();
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    const reply = client.request('slow.action', null, { timeout: 50 });
    const frame = await session.next();
    await assert.rejects(reply, { code: 'TIMEOUT' });
    session.send({ type: 'reply', id: frame.id, payload: 'too late' });
    // The connection keeps working after the late reply.
    const next = client.request('fast.action');
    const nextFrame = await session.next();
    session.send({ type: 'reply', id: nextFrame.id, payload: 'ok' });
    assert.equal(await next, 'ok');
    assert.deepEqual(errors, []);
  });

  it('refuses protocol types as application actions', async () => {
    await connect();
    await assert.rejects(client.request('subscribe', {}), { code: 'ACTION_RESERVED' });
  });

  it('rejects requests in flight when the connection drops, and holds new ones until it is back', async () => {
    await connect();
    const inFlight = client.request('orders.list');
    await session.expect('orders.list');
    const reconnecting = nextStatus(client, 'reconnecting');
    session.close(CloseCode.SERVICE_RESTART);
    await assert.rejects(inFlight, { code: 'DISCONNECTED' });
    await reconnecting;

    const waiting = client.request('orders.list');
    const bounded = client.request('orders.list', undefined, { timeout: 1 });
    await assert.rejects(bounded, { code: 'TIMEOUT' });
    session = await gateway.nextSession();
    session.welcome('s2');
    const frame = await session.expect('orders.list');
    session.send({ type: 'reply', id: frame.id, payload: [] });
    assert.deepEqual(await waiting, []);
  });

  it('publishes and sends direct messages', async () => {
    await connect();
    const published = client.publish('chat:lobby', { text: 'hi' });
    const publish = await session.expect('publish');
    assert.equal(publish.channel, 'chat:lobby');
    session.send({ type: 'published', id: publish.id, channel: 'chat:lobby', offset: 7, epoch: 'e1' });
    assert.deepEqual(await published, { offset: 7, epoch: 'e1' });

    const sent = client.send('bob', { text: 'psst' });
    const send = await session.expect('send');
    assert.deepEqual([send.user, send.data], ['bob', { text: 'psst' }]);
    session.send({ type: 'sent', id: send.id, sessions: 2 });
    assert.deepEqual(await sent, { sessions: 2 });
  });

  it('delivers direct messages and actions pushed by backends', async () => {
    await connect();
    const directs: unknown[] = [];
    const deactivated: unknown[] = [];
    const actions: PushedAction[] = [];
    client.on('direct', (message) => directs.push(message));
    client.on('MEMBER_DEACTIVATED', (payload) => deactivated.push(payload));
    client.on('action', (action) => actions.push(action));
    const from = { user: 'bob', session: 'sb' };
    session.send({ type: 'direct', from, to: 'alice', data: 'hello' });
    session.send({ type: 'MEMBER_DEACTIVATED', payload: { member: 'carol' } });
    session.send({ type: 'status', payload: 'collides with the client event name' });
    const last = await new Promise<PushedAction>((resolve) => {
      client.on('action', (action) => action.type === 'status' && resolve(action));
    });
    assert.equal(last.payload, 'collides with the client event name');
    assert.deepEqual(directs, [{ from, to: 'alice', data: 'hello' }]);
    assert.deepEqual(deactivated, [{ member: 'carol' }]);
    assert.deepEqual(
      actions.map((a) => a.type),
      ['MEMBER_DEACTIVATED', 'status'],
    );
  });

  it('reports error frames without an id and unreadable frames as error events', async () => {
    await connect();
    const errors: { code: string }[] = [];
    const two = new Promise<void>((resolve) =>
      client.on('error', (error) => errors.push(error) === 2 && resolve()),
    );
    session.send({ type: 'error', code: 'BAD_FRAME', message: 'frame is not valid JSON' });
    session.sendRaw('"not an object"');
    await two;
    assert.deepEqual(
      errors.map((e) => e.code),
      ['BAD_FRAME', 'UNREADABLE_FRAME'],
    );
  });

  it('subscribes, delivers messages and presence changes, and answers presence and history', async () => {
    await connect();
    const sub = client.subscribe<{ text: string }>('chat:lobby');
    const subscribe = await session.expect('subscribe');
    assert.equal(subscribe.recover, undefined);
    session.send({ type: 'subscribed', id: subscribe.id, channel: 'chat:lobby', offset: 3, epoch: 'e1' });
    await sub.ready;
    assert.equal(sub.state, 'subscribed');
    assert.deepEqual(sub.position, { offset: 3, epoch: 'e1' });

    const messages: Publication<{ text: string }>[] = [];
    const joins: string[] = [];
    sub.on('message', (publication) => messages.push(publication));
    sub.on('join', (change) => joins.push(`+${change.user}`));
    sub.on('leave', (change) => joins.push(`-${change.user}`));
    const from = { user: 'bob', session: 'sb' };
    session.send({ type: 'join', channel: 'chat:lobby', user: 'bob', session: 'sb' });
    session.send({ type: 'message', channel: 'chat:lobby', offset: 4, epoch: 'e1', data: { text: 'hi' }, from });
    session.send({ type: 'message', channel: 'chat:other', offset: 1, epoch: 'e9', data: { text: 'elsewhere' }, from });
    session.send({ type: 'leave', channel: 'chat:lobby', user: 'bob', session: 'sb' });

    const presence = sub.presence();
    const presenceRequest = await session.expect('presence');
    session.send({ type: 'presence', id: presenceRequest.id, channel: 'chat:lobby', members: [{ user: 'bob', sessions: 2 }] });
    assert.deepEqual(await presence, [{ user: 'bob', sessions: 2 }]);
    assert.deepEqual(messages, [{ channel: 'chat:lobby', offset: 4, epoch: 'e1', data: { text: 'hi' }, from }]);
    assert.deepEqual(joins, ['+bob', '-bob']);
    assert.deepEqual(sub.position, { offset: 4, epoch: 'e1' });

    const history = sub.history({ limit: 1 });
    const historyRequest = await session.expect('history');
    assert.equal(historyRequest.limit, 1);
    const old = { type: 'message', channel: 'chat:lobby', offset: 4, epoch: 'e1', data: { text: 'hi' }, from };
    session.send({ type: 'history', id: historyRequest.id, channel: 'chat:lobby', offset: 4, epoch: 'e1', recovered: true, publications: [old] });
    assert.deepEqual(await history, {
      publications: [messages[0]],
      position: { offset: 4, epoch: 'e1' },
      recovered: true,
      more: false,
    });
  });

  it('refuses malformed and duplicate subscriptions', async () => {
    await connect();
    assert.throws(() => client.subscribe('no namespace'), { code: 'CHANNEL_INVALID' });
    client.subscribe('chat:lobby');
    assert.throws(() => client.subscribe('chat:lobby'), { code: 'ALREADY_SUBSCRIBED' });
  });

  it('rejects ready and ends the subscription when the gateway refuses it', async () => {
    await connect();
    const sub = client.subscribe('org:other');
    const errors: string[] = [];
    sub.on('error', (error) => errors.push(error.code));
    const subscribe = await session.expect('subscribe');
    session.send({ type: 'error', id: subscribe.id, code: 'CHANNEL_FORBIDDEN', message: 'not allowed' });
    await assert.rejects(sub.ready, { code: 'CHANNEL_FORBIDDEN' });
    assert.equal(sub.state, 'failed');
    assert.equal(client.subscription('org:other'), undefined);
    assert.deepEqual(errors, ['CHANNEL_FORBIDDEN']);
  });

  it('restores subscriptions after a reconnect with recover and replays missed publications in order', async () => {
    await connect();
    const sub = client.subscribe('chat:lobby');
    const first = await session.expect('subscribe');
    session.send({ type: 'subscribed', id: first.id, channel: 'chat:lobby', offset: 3, epoch: 'e1' });
    const offsets: number[] = [];
    sub.on('message', (publication) => offsets.push(publication.offset));
    session.send({ type: 'message', channel: 'chat:lobby', offset: 4, epoch: 'e1', data: 'd4', from: null });
    await sub.ready;

    // Our own publication (offset 5) is not delivered live, so the replay must not deliver it either.
    const published = client.publish('chat:lobby', 'mine');
    const publish = await session.expect('publish');
    session.send({ type: 'published', id: publish.id, channel: 'chat:lobby', offset: 5, epoch: 'e1' });
    await published;
    assert.deepEqual(offsets, [4]);

    const recovered = new Promise<RecoveredEvent>((resolve) => sub.once('recovered', resolve));
    const next = await reconnect();
    next.welcome('s2');
    const resubscribe = await next.expect('subscribe');
    assert.deepEqual(resubscribe.recover, { offset: 4, epoch: 'e1' });
    const replay = [5, 6, 7].map((offset) => ({ type: 'message', channel: 'chat:lobby', offset, epoch: 'e1', data: `d${offset}`, from: null }));
    next.send({ type: 'subscribed', id: resubscribe.id, channel: 'chat:lobby', offset: 7, epoch: 'e1', recovered: true, publications: replay });
    assert.deepEqual(await recovered, { from: { offset: 4, epoch: 'e1' }, publications: 2 });
    assert.deepEqual(offsets, [4, 6, 7]);
    assert.deepEqual(sub.position, { offset: 7, epoch: 'e1' });
  });

  it('reports recovery-failed when the gateway cannot replay, and resumes from the new position', async () => {
    await connect();
    const sub = client.subscribe('chat:lobby');
    const first = await session.expect('subscribe');
    session.send({ type: 'subscribed', id: first.id, channel: 'chat:lobby', offset: 10, epoch: 'e1' });
    await sub.ready;

    const failed = new Promise<RecoveryFailedEvent>((resolve) => sub.once('recovery-failed', resolve));
    const next = await reconnect(CloseCode.SERVER_RECONNECT);
    next.welcome('s2');
    const resubscribe = await next.expect('subscribe');
    assert.deepEqual(resubscribe.recover, { offset: 10, epoch: 'e1' });
    next.send({ type: 'subscribed', id: resubscribe.id, channel: 'chat:lobby', offset: 2, epoch: 'e2', recovered: false });
    assert.deepEqual(await failed, { from: { offset: 10, epoch: 'e1' }, position: { offset: 2, epoch: 'e2' } });
    assert.deepEqual(sub.position, { offset: 2, epoch: 'e2' });
  });

  it('subscribes when the connection comes up, then sends the requests that waited', async () => {
    ({ client } = createClient(gateway.url));
    client.connect();
    const sub = client.subscribe('chat:lobby');
    const published = client.publish('chat:lobby', 'queued');
    session = await gateway.nextSession();
    session.welcome('s1');
    const subscribe = await session.expect('subscribe');
    assert.equal(subscribe.recover, undefined);
    const publish = await session.expect('publish');
    session.send({ type: 'subscribed', id: subscribe.id, channel: 'chat:lobby', offset: 0, epoch: 'e1' });
    session.send({ type: 'published', id: publish.id, channel: 'chat:lobby', offset: 1, epoch: 'e1' });
    await sub.ready;
    assert.deepEqual(await published, { offset: 1, epoch: 'e1' });
  });

  it('re-sends a subscribe whose answer was lost with the connection', async () => {
    await connect();
    const sub = client.subscribe('chat:lobby');
    await session.expect('subscribe');
    const next = await reconnect();
    next.welcome('s2');
    const again = await next.expect('subscribe');
    assert.equal(again.recover, undefined);
    next.send({ type: 'subscribed', id: again.id, channel: 'chat:lobby', offset: 0, epoch: 'e1' });
    await sub.ready;
  });

  it('unsubscribes, and stops restoring the channel', async () => {
    await connect();
    const sub = client.subscribe('chat:lobby');
    const subscribe = await session.expect('subscribe');
    session.send({ type: 'subscribed', id: subscribe.id, channel: 'chat:lobby', offset: 0, epoch: 'e1' });
    await sub.ready;
    const done = sub.unsubscribe();
    const unsubscribe = await session.expect('unsubscribe');
    session.send({ type: 'unsubscribed', id: unsubscribe.id, channel: 'chat:lobby' });
    await done;
    assert.equal(sub.state, 'unsubscribed');
    assert.deepEqual(client.subscriptions(), []);

    const other = client.subscribe('chat:other');
    const next = await reconnect();
    next.welcome('s2');
    assert.equal((await next.expect('subscribe')).channel, 'chat:other');
    void other;
  });

  it('ends a subscription the gateway removed', async () => {
    await connect();
    const sub = client.subscribe('chat:lobby');
    const subscribe = await session.expect('subscribe');
    session.send({ type: 'subscribed', id: subscribe.id, channel: 'chat:lobby', offset: 0, epoch: 'e1' });
    await sub.ready;
    const ended = new Promise<{ byServer: boolean }>((resolve) => sub.once('unsubscribed', resolve));
    session.send({ type: 'unsubscribed', channel: 'chat:lobby' });
    assert.deepEqual(await ended, { byServer: true });
    assert.equal(client.subscription('chat:lobby'), undefined);
  });

  it('adopts a subscription a backend made and restores it after a reconnect', async () => {
    await connect();
    const adopted = new Promise<Subscription>((resolve) => client.once('subscription', resolve));
    session.send({ type: 'subscribed', channel: 'org:acme', offset: 5, epoch: 'e1' });
    const sub = await adopted;
    assert.equal(sub.channel, 'org:acme');
    assert.equal(sub.state, 'subscribed');
    await sub.ready;
    assert.equal(client.subscription('org:acme'), sub);

    const next = await reconnect();
    next.welcome('s2');
    const resubscribe = await next.expect('subscribe');
    assert.deepEqual([resubscribe.channel, resubscribe.recover], ['org:acme', { offset: 5, epoch: 'e1' }]);
  });
});
