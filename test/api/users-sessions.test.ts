import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCluster, MemoryEngine } from '../../src/server/engine/memory.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { connect, connectAs, type TestClient } from '../helpers/client.js';
import { mintTicket } from '../helpers/gateway.js';
import { api } from './api-client.js';

describe('server API: users and sessions across two nodes', () => {
  const cluster = new MemoryCluster();
  let nodeA: RunningGateway;
  let nodeB: RunningGateway;
  const open: TestClient[] = [];

  /** A client of `user` on the given node. */
  async function client(node: RunningGateway, user: string, claims: Record<string, unknown> = {}): Promise<TestClient> {
    const connected = await connect(node.wsUrl, { ticket: await mintTicket(node, user, claims), headers: { 'user-agent': 'wsgate-test/1.0' } });
    open.push(connected);
    return connected;
  }

  before(async () => {
    nodeA = await startGateway({}, { engine: new MemoryEngine(cluster) });
    nodeB = await startGateway({}, { engine: new MemoryEngine(cluster) });
  });
  after(async () => {
    await Promise.all(open.map((connected) => connected.ws.readyState === connected.ws.OPEN ? connected.close() : undefined));
    await Promise.all([nodeA.stop(), nodeB.stop()]);
  });

  test('send to a user reaches every session on every node as exactly {type, payload}', async () => {
    const tabs = [await client(nodeA, 'alice'), await client(nodeA, 'alice'), await client(nodeB, 'alice')];
    const bob = await client(nodeB, 'bob');
    const arrivals = tabs.map((tab) => tab.next('MEMBER_DEACTIVATED'));
    const answer = await api(nodeA, 'POST', '/api/users/alice/send', { type: 'MEMBER_DEACTIVATED', payload: { member: 7 } });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { sessions: 3 });
    for (const frame of await Promise.all(arrivals)) assert.deepEqual(frame, { type: 'MEMBER_DEACTIVATED', payload: { member: 7 } });

    const withoutPayload = tabs[2]!.next('ping.app');
    await api(nodeB, 'POST', '/api/users/alice/send', { type: 'ping.app' });
    assert.deepEqual(await withoutPayload, { type: 'ping.app', payload: null });
    assert.equal(bob.count('MEMBER_DEACTIVATED'), 0);

    assert.deepEqual((await api(nodeA, 'POST', '/api/users/nobody/send', { type: 'X', payload: 1 })).body, { sessions: 0 });
    const reserved = await api(nodeA, 'POST', '/api/users/alice/send', { type: 'message', payload: {} });
    assert.equal(reserved.status, 400);
    assert.equal(reserved.body.code, 'ACTION_RESERVED');
    const badType = await api(nodeA, 'POST', '/api/users/alice/send', { type: 'has space', payload: {} });
    assert.equal(badType.status, 400);
    assert.equal(badType.body.code, 'BODY_INVALID');
    const badUser = await api(nodeA, 'POST', `/api/users/${encodeURIComponent('a b')}/send`, { type: 'X' });
    assert.equal(badUser.status, 400);
    assert.equal(badUser.body.code, 'USER_INVALID');
  });

  test('send to one session reaches only it, on whichever node; a gone session is 404', async () => {
    const here = await client(nodeA, 'carol');
    const there = await client(nodeB, 'carol');
    const arrival = there.next('order.updated');
    const answer = await api(nodeA, 'POST', `/api/sessions/${there.welcome!.session}/send`, { type: 'order.updated', payload: [1, 2] });
    assert.deepEqual(answer.body, { sessions: 1 });
    assert.deepEqual(await arrival, { type: 'order.updated', payload: [1, 2] });
    const local = here.next('order.updated');
    await api(nodeA, 'POST', `/api/sessions/${here.welcome!.session}/send`, { type: 'order.updated', payload: 3 });
    assert.deepEqual(await local, { type: 'order.updated', payload: 3 });
    assert.equal(there.count('order.updated'), 1);

    const missing = await api(nodeA, 'POST', '/api/sessions/no-such-session/send', { type: 'order.updated' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'SESSION_NOT_FOUND');
    const reserved = await api(nodeA, 'POST', `/api/sessions/${here.welcome!.session}/send`, { type: 'disconnect' });
    assert.equal(reserved.body.code, 'ACTION_RESERVED');
  });

  test('GET /api/users/{user} lists sessions with node, connectedAt and client', async () => {
    const one = await client(nodeA, 'dave');
    const two = await client(nodeB, 'dave');
    const answer = await api(nodeB, 'GET', '/api/users/dave');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.online, true);
    const sessions = answer.body.sessions as Array<Record<string, any>>;
    assert.deepEqual(sessions.map((entry) => entry.session).sort(), [one.welcome!.session, two.welcome!.session].sort());
    assert.deepEqual(sessions.map((entry) => entry.node).sort(), [one.welcome!.node, two.welcome!.node].sort());
    for (const entry of sessions) {
      assert.equal(new Date(entry.connectedAt).toISOString(), entry.connectedAt);
      assert.equal(entry.client.ip, '127.0.0.1');
      assert.equal(entry.client.userAgent, 'wsgate-test/1.0');
    }
    assert.deepEqual((await api(nodeA, 'GET', '/api/users/ghost')).body, { user: 'ghost', online: false, sessions: [] });
  });

  test('disconnect a user: every session gets disconnect {code, reconnect} then the close code', async () => {
    const tabs = [await client(nodeA, 'erin'), await client(nodeB, 'erin')];
    const answer = await api(nodeA, 'POST', '/api/users/erin/disconnect', { reason: 'account suspended', reconnect: false });
    assert.deepEqual(answer.body, { sessions: 2 });
    for (const tab of tabs) {
      const closed = await tab.closed;
      assert.equal(closed.code, 4500);
      const last = tab.frames.at(-1)!;
      assert.deepEqual(last, { type: 'disconnect', code: 4500, reason: 'account suspended', reconnect: false });
    }
    const retry = await client(nodeB, 'erin');
    await api(nodeA, 'POST', '/api/users/erin/disconnect');
    assert.equal((await retry.closed).code, 4000);
    assert.deepEqual(retry.frames.at(-1), { type: 'disconnect', code: 4000, reason: 'disconnected by the server', reconnect: true });
    assert.equal((await api(nodeA, 'GET', '/api/users/erin')).body.online, false);
    const badBody = await api(nodeA, 'POST', '/api/users/erin/disconnect', { reconnect: 'no' });
    assert.equal(badBody.status, 400);
    assert.equal(badBody.body.code, 'BODY_INVALID');
  });

  test('disconnect one session; a gone session is 404', async () => {
    const keep = await client(nodeA, 'frank');
    const drop = await client(nodeB, 'frank');
    const answer = await api(nodeA, 'POST', `/api/sessions/${drop.welcome!.session}/disconnect`, { reason: 'bye' });
    assert.deepEqual(answer.body, { sessions: 1 });
    assert.equal((await drop.closed).code, 4000);
    assert.equal(keep.ws.readyState, keep.ws.OPEN);
    const missing = await api(nodeA, 'POST', `/api/sessions/${drop.welcome!.session}/disconnect`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'SESSION_NOT_FOUND');
  });

  test('server-side subscribe and unsubscribe by user and by session, across nodes', async () => {
    const onA = await client(nodeA, 'gina', { org: 'other' });
    const onB = await client(nodeB, 'gina', { org: 'other' });
    const channel = 'org:acme/view:order-17';
    const path = `/api/channels/${encodeURIComponent(channel)}`;
    const subscribed = [onA.next('subscribed'), onB.next('subscribed')];
    const answer = await api(nodeA, 'POST', `${path}/subscribe`, { user: 'gina' });
    assert.deepEqual(answer.body, { channel, sessions: 2 });
    for (const frame of await Promise.all(subscribed)) {
      assert.equal(frame.channel, channel);
      assert.equal(frame.id, undefined, 'a server-side subscription has no request id');
    }
    const messages = [onA.next('message'), onB.next('message')];
    await api(nodeB, 'POST', '/api/publish', { channel, data: 'for the view' });
    for (const frame of await Promise.all(messages)) assert.equal(frame.data, 'for the view');

    const unsubscribed = onB.next('unsubscribed');
    const removal = await api(nodeA, 'POST', `${path}/unsubscribe`, { session: onB.welcome!.session });
    assert.deepEqual(removal.body, { channel, sessions: 1 });
    assert.deepEqual(await unsubscribed, { type: 'unsubscribed', channel });
    const stillA = onA.next('message');
    await api(nodeA, 'POST', '/api/publish', { channel, data: 'only A' });
    assert.equal((await stillA).data, 'only A');
    assert.equal(onB.count('message'), 1);

    const cases: Array<[string, unknown, number, string]> = [
      [`${path}/subscribe`, { user: 'gina', session: onA.welcome!.session }, 400, 'BODY_INVALID'],
      [`${path}/subscribe`, {}, 400, 'BODY_INVALID'],
      [`${path}/subscribe`, { session: 'gone' }, 404, 'SESSION_NOT_FOUND'],
      [`/api/channels/${encodeURIComponent('no colon')}/subscribe`, { user: 'gina' }, 400, 'CHANNEL_INVALID'],
      [`/api/channels/${encodeURIComponent('zzz:x')}/unsubscribe`, { user: 'gina' }, 404, 'NAMESPACE_UNKNOWN'],
    ];
    for (const [url, body, status, code] of cases) {
      const refused = await api(nodeA, 'POST', url, body);
      assert.equal(refused.status, status, `${url} ${JSON.stringify(body)}: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body.code, code);
    }
  });
});

describe('server API: channels and node info', () => {
  let running: RunningGateway;
  const open: TestClient[] = [];

  before(async () => {
    running = await startGateway();
  });
  after(async () => {
    await Promise.all(open.map((connected) => connected.close()));
    await running.stop();
  });

  test('channels with local subscribers, one channel, presence, info', async () => {
    const ann = await connectAs(running, 'ann', { org: 'acme' });
    const ben = await connectAs(running, 'ben', { org: 'acme' });
    const ann2 = await connectAs(running, 'ann', { org: 'acme' });
    open.push(ann, ben, ann2);
    await ann.subscribe('org:acme');
    await ben.subscribe('org:acme');
    await ann2.subscribe('org:acme');
    await ann.subscribe('chat:lobby');
    await ben.subscribe('news:today');
    await ann.request({ type: 'publish', channel: 'chat:lobby', data: 1 });

    const all = await api(running, 'GET', '/api/channels');
    assert.deepEqual(all.body.channels, [
      { channel: 'chat:lobby', subscribers: 1 },
      { channel: 'news:today', subscribers: 1 },
      { channel: 'org:acme', subscribers: 3 },
    ]);
    const org = await api(running, 'GET', '/api/channels?prefix=org%3A');
    assert.deepEqual(org.body.channels, [{ channel: 'org:acme', subscribers: 3 }]);
    assert.equal((await api(running, 'GET', '/api/channels?limit=0')).body.code, 'BODY_INVALID');

    const one = await api(running, 'GET', `/api/channels/${encodeURIComponent('org:acme')}`);
    const node = ann.welcome!.node;
    assert.deepEqual(one.body, { channel: 'org:acme', node, subscribers: 3, presence: 2, nodes: [{ node, subscribers: 3 }] });
    const quiet = await api(running, 'GET', '/api/channels/chat%3Aempty');
    assert.equal(quiet.body.subscribers, 0);
    assert.equal((await api(running, 'GET', '/api/channels/chat%20x')).body.code, 'CHANNEL_INVALID');

    const presence = await api(running, 'GET', '/api/channels/org%3Aacme/presence');
    const members = (presence.body.members as Array<{ user: string; sessions: number }>).sort((a, b) => a.user.localeCompare(b.user));
    assert.deepEqual(members, [{ user: 'ann', sessions: 2 }, { user: 'ben', sessions: 1 }]);
    const disabled = await api(running, 'GET', '/api/channels/news%3Atoday/presence');
    assert.equal(disabled.status, 409);
    assert.equal(disabled.body.code, 'PRESENCE_DISABLED');

    const info = await api(running, 'GET', '/api/info');
    assert.equal(info.body.node, ann.welcome!.node);
    assert.equal(info.body.engine, 'memory');
    assert.equal(info.body.sessions, 3);
    assert.equal(info.body.users, 2);
    assert.equal(info.body.channels, 3);
    assert.equal(typeof info.body.uptime, 'number');
    assert.ok(info.body.rates.messagesIn > 0, JSON.stringify(info.body.rates));
    assert.ok(info.body.rates.messagesOut > 0);
  });
});
