import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connectAs } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

describe('presence', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.stop());

  test('join on a user\'s first session, leave on the last (multi-tab), members with session counts', async () => {
    const watcher = await connectAs(gw, 'watcher');
    await watcher.subscribe('chat:room1');
    const tab1 = await connectAs(gw, 'alice');
    const tab2 = await connectAs(gw, 'alice');
    const joined = watcher.next('join');
    await tab1.subscribe('chat:room1');
    assert.deepEqual(await joined, { type: 'join', channel: 'chat:room1', user: 'alice', session: tab1.welcome!.session });
    await tab2.subscribe('chat:room1');
    const members = await watcher.request({ type: 'presence', channel: 'chat:room1' });
    assert.deepEqual(members.members, [{ user: 'alice', sessions: 2 }, { user: 'watcher', sessions: 1 }]);
    assert.equal(watcher.count('join'), 1, 'the second tab is no new join');

    await tab1.close();
    await gw.gateway.engine.presence.members('chat:room1').then(async () => {
      const after = await watcher.request({ type: 'presence', channel: 'chat:room1' });
      assert.deepEqual(after.members, [{ user: 'alice', sessions: 1 }, { user: 'watcher', sessions: 1 }]);
    });
    assert.equal(watcher.count('leave'), 0, 'one tab left, the user is still present');
    const left = watcher.next('leave');
    await tab2.request({ type: 'unsubscribe', channel: 'chat:room1' });
    assert.equal((await left).user, 'alice');
    assert.deepEqual((await watcher.request({ type: 'presence', channel: 'chat:room1' })).members, [{ user: 'watcher', sessions: 1 }]);
    assert.equal((await watcher.request({ type: 'presence', channel: 'news:x' })).code, 'PRESENCE_DISABLED');
    await tab2.close();
    await watcher.close();
  });

  test('anonymous sessions are not tracked by presence', async () => {
    const watcher = await connectAs(gw, 'w');
    await watcher.subscribe('chat:anon');
    const anon = await connectAs(gw, null);
    await anon.subscribe('chat:anon');
    assert.deepEqual((await watcher.request({ type: 'presence', channel: 'chat:anon' })).members, [{ user: 'w', sessions: 1 }]);
    assert.equal(watcher.count('join'), 0);
    await anon.close();
    await watcher.close();
  });
});

describe('direct messages', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.stop());

  test('reach every session of the recipient and are mirrored to the sender\'s other sessions', async () => {
    const alice1 = await connectAs(gw, 'alice');
    const alice2 = await connectAs(gw, 'alice');
    const bob1 = await connectAs(gw, 'bob');
    const bob2 = await connectAs(gw, 'bob');
    const carol = await connectAs(gw, 'carol');
    const waits = [bob1, bob2, alice2].map((client) => client.next('direct'));
    const sent = await alice1.request({ type: 'send', user: 'bob', data: { text: 'psst' } });
    assert.deepEqual(sent, { type: 'sent', id: sent.id, sessions: 2 });
    for (const frame of await Promise.all(waits)) {
      assert.deepEqual(frame, { type: 'direct', from: { user: 'alice', session: alice1.welcome!.session }, to: 'bob', data: { text: 'psst' } });
    }
    assert.equal(alice1.count('direct'), 0, 'not echoed to the sending session');
    assert.equal(carol.count('direct'), 0);

    const self = alice2.next('direct');
    assert.equal((await alice1.request({ type: 'send', user: 'alice', data: 'note to self' })).sessions, 1);
    assert.equal((await self).data, 'note to self');
    assert.equal(alice2.count('direct'), 2, 'the self-send arrives once');

    assert.equal((await alice1.request({ type: 'send', user: 'nobody', data: 1 })).sessions, 0);
    assert.equal((await alice1.request({ type: 'send', user: 'bad user!', data: 1 })).code, 'USER_INVALID');
    const anon = await connectAs(gw, null);
    assert.equal((await anon.request({ type: 'send', user: 'bob', data: 1 })).code, 'SEND_FORBIDDEN');
    for (const client of [alice1, alice2, bob1, bob2, carol, anon]) await client.close();
  });

});

describe('session policy', () => {
  test('max 1, kick-oldest: a new tab replaces the old one, which is told not to reconnect', async () => {
    const gw = await startGateway({ sessions: { max: 1, onLimit: 'kick-oldest' } });
    const watcher = await connectAs(gw, 'watcher');
    await watcher.subscribe('chat:p');
    const old = await connectAs(gw, 'alice');
    await old.subscribe('chat:p');
    const fresh = await connectAs(gw, 'alice');
    const disconnect = await old.seen('disconnect');
    assert.equal(disconnect.code, 4501);
    assert.equal(disconnect.reconnect, false);
    assert.equal((await old.closed).code, 4501);
    assert.equal(fresh.count('disconnect'), 0);
    const sessions = await gw.gateway.engine.registry.getUserSessions('alice');
    assert.deepEqual(sessions.map((s) => s.session), [fresh.welcome!.session]);
    assert.equal((await watcher.seen('leave')).user, 'alice', 'the kicked session left presence');
    await fresh.close();
    await watcher.close();
    await gw.stop();
  });

  test('max 2, reject-new: the third session is closed with 4502', async () => {
    const gw = await startGateway({ sessions: { max: 2, onLimit: 'reject-new' } });
    const first = await connectAs(gw, 'bob');
    const second = await connectAs(gw, 'bob');
    const { open } = await import('../helpers/client.js');
    const { mintTicket } = await import('../helpers/gateway.js');
    const third = await open(gw.wsUrl, { ticket: await mintTicket(gw, 'bob') });
    const disconnect = await third.seen('disconnect');
    assert.equal(disconnect.code, 4502);
    assert.equal(disconnect.reconnect, false);
    assert.equal((await third.closed).code, 4502);
    assert.equal(third.count('welcome'), 0);
    assert.equal((await gw.gateway.engine.registry.getUserSessions('bob')).length, 2);
    assert.equal(first.count('disconnect') + second.count('disconnect'), 0);
    await first.close();
    await second.close();
    await gw.stop();
  });

  test('a credential may carry its own policy (sessionPolicy claim)', async () => {
    const gw = await startGateway();
    const single = { sessionPolicy: { max: 1, onLimit: 'kick-oldest' } };
    const old = await connectAs(gw, 'carol', single);
    const other = await connectAs(gw, 'dave');
    await connectAs(gw, 'dave');
    const fresh = await connectAs(gw, 'carol', single);
    assert.equal((await old.closed).code, 4501);
    assert.equal(other.count('disconnect'), 0, 'users without the claim keep the default (unlimited)');
    await fresh.close();
    await gw.stop();
  });
});

describe('liveness', () => {
  test('a peer that stops answering pings is terminated and leaves presence', async () => {
    const gw = await startGateway({ ws: { pingIntervalMs: 100, pingTimeoutMs: 200 } });
    const watcher = await connectAs(gw, 'watcher');
    await watcher.subscribe('chat:live');
    const { connect } = await import('../helpers/client.js');
    const { mintTicket } = await import('../helpers/gateway.js');
    const silent = await connect(gw.wsUrl, { ticket: await mintTicket(gw, 'ghost'), autoPong: false });
    await silent.subscribe('chat:live');
    const left = await watcher.next('leave', () => true, 3_000);
    assert.equal(left.user, 'ghost');
    await silent.closed;
    assert.equal(gw.gateway.hub.sessions.has(String(silent.welcome!.session)), false);
    assert.equal((await gw.gateway.engine.registry.getUserSessions('ghost')).length, 0);
    assert.equal(watcher.ws.readyState, watcher.ws.OPEN, 'a session that answers pings stays');
    await watcher.close();
    await gw.stop();
  });

  test('a pong that arrived while the process was busy is read before the ping timeout is judged', async (t) => {
    const gw = await startGateway({ ws: { pingIntervalMs: 100, pingTimeoutMs: 200 } });
    t.after(() => gw.stop());
    const client = await connectAs(gw, 'busy');
    // The client answers the ping at once (autoPong), then the process is blocked past the timeout: the pong waits
    // unread in the node's socket when the liveness timer comes due, before the loop reads sockets again.
    const pinged = once(client.ws, 'ping');
    client.ws.once('ping', () => {
      const until = Date.now() + 500;
      while (Date.now() < until);
    });
    await pinged;
    const outcome = await Promise.race([once(client.ws, 'ping').then(() => 'pinged again'), client.closed.then(({ code }) => `closed ${code}`)]);
    assert.equal(outcome, 'pinged again');
    await client.close();
  });
});
