import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAs } from '../helpers/client.js';
import { waitFor } from '../support/wait.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

describe('channels', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ namespaces: { room: { publish: true, maxSubscribers: 2 } } });
  });
  after(() => gw.stop());

  test('publish reaches every other subscriber, including the same user\'s other sessions, not the publisher', async () => {
    const alice1 = await connectAs(gw, 'alice');
    const alice2 = await connectAs(gw, 'alice');
    const bob = await connectAs(gw, 'bob');
    const outsider = await connectAs(gw, 'zed');
    for (const client of [alice1, alice2, bob]) await client.subscribe('chat:pub');
    const toAlice2 = alice2.next('message');
    const toBob = bob.next('message');
    const reply = await alice1.request({ type: 'publish', channel: 'chat:pub', data: { text: 'hello', n: [1, 2] } });
    assert.equal(reply.type, 'published');
    assert.equal(reply.offset, 1);
    for (const message of [await toAlice2, await toBob]) {
      assert.deepEqual(message.data, { text: 'hello', n: [1, 2] });
      assert.equal(message.channel, 'chat:pub');
      assert.equal(message.offset, 1);
      assert.equal(message.epoch, reply.epoch);
      assert.deepEqual(message.from, { user: 'alice', session: alice1.welcome!.session });
    }
    // A second publication orders after the first; the publisher still never sees its own.
    await alice1.request({ type: 'publish', channel: 'chat:pub', data: 'two' });
    assert.equal((await bob.seen('message', (m) => m.offset === 2)).data, 'two');
    assert.equal(alice1.count('message'), 0);
    assert.equal(outsider.count('message'), 0);
    for (const client of [alice1, alice2, bob, outsider]) await client.close();
  });

  test('unsubscribe stops delivery; the channel vanishes with its last subscriber', async () => {
    const { hub, engine } = gw.gateway;
    const a = await connectAs(gw, 'a');
    const b = await connectAs(gw, 'b');
    await a.subscribe('chat:ephemeral');
    await b.subscribe('chat:ephemeral');
    assert.equal(hub.subscriberCount('chat:ephemeral'), 2);
    const before = engine.broker.stats().subscriptions;
    assert.equal((await a.request({ type: 'unsubscribe', channel: 'chat:ephemeral' })).type, 'unsubscribed');
    await b.request({ type: 'publish', channel: 'chat:ephemeral', data: 1 });
    assert.equal(hub.subscriberCount('chat:ephemeral'), 1);
    await b.close();
    await waitFor(() => hub.subscriberCount('chat:ephemeral') === 0);
    assert.ok(![...hub.channelNames()].includes('chat:ephemeral'));
    assert.equal(engine.broker.stats().subscriptions, before - 1, 'the node left the broker channel');
    assert.equal(a.count('message'), 0);
    assert.equal((await a.request({ type: 'unsubscribe', channel: 'chat:ephemeral' })).code, 'NOT_SUBSCRIBED');
    await a.close();
  });

  test('namespace rules: unknown namespaces, bad names, publish off, private channels by claim templates', async () => {
    const acme = await connectAs(gw, 'ann', { org: 'acme' });
    const anon = await connectAs(gw, null);
    assert.equal((await acme.request({ type: 'subscribe', channel: 'nope:x' })).code, 'NAMESPACE_UNKNOWN');
    assert.equal((await acme.request({ type: 'subscribe', channel: 'chat:bad name!' })).code, 'CHANNEL_INVALID');
    assert.equal((await acme.request({ type: 'subscribe', channel: 'nocolon' })).code, 'CHANNEL_INVALID');
    assert.equal((await acme.request({ type: 'subscribe', channel: `chat:${'x'.repeat(201)}` })).code, 'CHANNEL_INVALID');
    await acme.subscribe('news:today');
    assert.equal((await acme.request({ type: 'publish', channel: 'news:today', data: 1 })).code, 'PUBLISH_FORBIDDEN');
    await acme.subscribe('org:acme');
    await acme.subscribe('org:acme/view:order-17');
    assert.equal((await acme.request({ type: 'subscribe', channel: 'org:globex' })).code, 'CHANNEL_FORBIDDEN');
    assert.equal((await acme.request({ type: 'subscribe', channel: 'org:acmeX' })).code, 'CHANNEL_FORBIDDEN');
    assert.equal((await anon.request({ type: 'subscribe', channel: 'org:acme' })).code, 'CHANNEL_FORBIDDEN');
    assert.equal((await anon.request({ type: 'publish', channel: 'org:acme', data: 1 })).code, 'CHANNEL_FORBIDDEN');
    assert.equal((await acme.request({ type: 'subscribe', channel: 'org:acme' })).code, 'ALREADY_SUBSCRIBED');
    await acme.close();
    await anon.close();
  });

  test('a claim holding an array grants each of its values', async () => {
    const multi = await connectAs(gw, 'max', { org: ['acme', 'globex'] });
    await multi.subscribe('org:acme');
    await multi.subscribe('org:globex/team:ops');
    assert.equal((await multi.request({ type: 'subscribe', channel: 'org:initech' })).code, 'CHANNEL_FORBIDDEN');
    await multi.close();
  });

  test('maxSubscribers caps a channel', async () => {
    const clients = await Promise.all(['c1', 'c2', 'c3'].map((user) => connectAs(gw, user)));
    await clients[0]!.subscribe('room:small');
    await clients[1]!.subscribe('room:small');
    assert.equal((await clients[2]!.request({ type: 'subscribe', channel: 'room:small' })).code, 'CHANNEL_FULL');
    for (const client of clients) await client.close();
  });

  test('history: offsets per channel, recovery after a gap, recovered:false for another epoch or without history', async () => {
    const writer = await connectAs(gw, 'w');
    for (let i = 1; i <= 5; i++) await writer.request({ type: 'publish', channel: 'chat:hist', data: i });
    const reader = await connectAs(gw, 'r');
    const fresh = await reader.subscribe('chat:hist');
    assert.equal(fresh.offset, 5);
    assert.equal(fresh.recovered, undefined);
    await reader.request({ type: 'unsubscribe', channel: 'chat:hist' });

    const recovered = await reader.subscribe('chat:hist', { recover: { offset: 2, epoch: fresh.epoch } });
    assert.equal(recovered.recovered, true);
    assert.deepEqual((recovered.publications as Array<{ data: number }>).map((p) => p.data), [3, 4, 5]);
    await reader.request({ type: 'unsubscribe', channel: 'chat:hist' });

    const otherEpoch = await reader.subscribe('chat:hist', { recover: { offset: 2, epoch: 'stale' } });
    assert.equal(otherEpoch.recovered, false);
    assert.deepEqual(otherEpoch.publications, []);

    const page = await reader.request({ type: 'history', channel: 'chat:hist', limit: 2 });
    assert.equal(page.type, 'history');
    assert.deepEqual((page.publications as Array<{ offset: number }>).map((p) => p.offset), [4, 5]);
    assert.equal((await reader.request({ type: 'history', channel: 'room:x' })).code, 'HISTORY_DISABLED');

    await writer.request({ type: 'publish', channel: 'room:nohist', data: 1 });
    const noHistory = await reader.subscribe('room:nohist', { recover: { offset: 0, epoch: fresh.epoch } });
    assert.equal(noHistory.recovered, false);
    await writer.close();
    await reader.close();
  });

  test('a publication racing a subscribe with recovery is delivered once, after the reply', async () => {
    const writer = await connectAs(gw, 'w2');
    const reader = await connectAs(gw, 'r2');
    const first = await reader.subscribe('chat:race');
    await reader.request({ type: 'unsubscribe', channel: 'chat:race' });
    for (let i = 0; i < 3; i++) await writer.request({ type: 'publish', channel: 'chat:race', data: i });
    const subscribing = reader.subscribe('chat:race', { recover: { offset: first.offset, epoch: first.epoch } });
    const publishing = Promise.all(Array.from({ length: 20 }, (_, i) => writer.request({ type: 'publish', channel: 'chat:race', data: 100 + i })));
    const reply = await subscribing;
    await publishing;
    await reader.seen('message', (m) => m.offset === 23);
    const replayed = (reply.publications as Array<{ offset: number }>).map((p) => p.offset);
    const live = reader.frames.filter((f) => f.type === 'message' && f.channel === 'chat:race').map((f) => f.offset as number);
    const all = [...replayed, ...live];
    assert.deepEqual(all, Array.from({ length: 23 }, (_, i) => i + 1), 'every offset exactly once, in order');
    const replyIndex = reader.frames.indexOf(reader.frames.find((f) => f.type === 'subscribed' && f.recovered !== undefined)!);
    assert.ok(reader.frames.slice(0, replyIndex).every((f) => f.type !== 'message' || f.channel !== 'chat:race'));
    await writer.close();
    await reader.close();
  });
});
