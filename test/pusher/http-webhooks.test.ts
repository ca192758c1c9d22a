import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/server/config/load.js';
import { fromWsgateChannel, toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import { newEventId, type WebhookEvent } from '../../src/server/webhooks/events.js';
import { PusherWebhookFormat } from '../../src/server/webhooks/pusher-webhooks.js';
import { connectAs, type TestClient } from '../helpers/client.js';
import { connected, nextEvent, pusherClient, subscribed } from '../helpers/pusher-clients.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { APP, pusherSdk, SMALL_APP } from './support/pusher-http.js';
import { PusherWebhookSink } from './support/pusher-webhook-sink.js';

/** Fast retries: the second attempt a few tens of milliseconds after a 500. */
const FAST = { initialDelayMs: 20, maxDelayMs: 100, periodMs: 5_000 };

const onChannel = (name: string) => (event: Record<string, unknown>) => event.channel === name;

describe('Pusher webhooks, verified by the pusher SDK\'s webhook() helper', { timeout: 60_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function subscribe(running: RunningGateway, client: TestClient, channel: string): Promise<void> {
    const subscribed = client.next('subscribed', (frame) => frame.channel === channel);
    await running.gateway.commands.changeSubscription('subscribe', channel, { session: client.welcome!.session as string });
    await subscribed;
  }

  it('channel and member events of the app\'s own channels, signed, in order, sent again after a 500', async () => {
    const sink = await PusherWebhookSink.start(pusherSdk(0), (index) => (index === 0 ? 500 : 200));
    const members = await PusherWebhookSink.start(pusherSdk(0));
    const other = await PusherWebhookSink.start(pusherSdk(0, SMALL_APP));
    cleanups.push(() => sink.stop(), () => members.stop(), () => other.stop());
    const running = await startGateway({
      pusher: {
        apps: [
          { ...APP, webhooks: [{ url: sink.url }, { url: members.url, events: ['member_added', 'member_removed'] }] },
          { ...SMALL_APP, webhooks: [{ url: other.url, events: ['channel_occupied', 'channel_vacated'] }] },
        ],
      },
      webhooks: { retry: FAST, pollIntervalMs: 20 },
    });
    cleanups.push(() => running.stop());

    const ann = await connectAs(running, 'ann');
    await subscribe(running, ann, toWsgateChannel(APP.id, 'presence-room')!);
    await subscribe(running, ann, toWsgateChannel(APP.id, 'news')!);
    await subscribe(running, ann, toWsgateChannel(SMALL_APP.id, 'news')!);
    await subscribe(running, ann, 'chat:lobby');
    await ann.close();
    await sink.waitForEvent((event) => event.name === 'channel_vacated' && event.channel === 'presence-room', 'presence-room vacated');
    await sink.waitForEvent((event) => event.name === 'channel_vacated' && event.channel === 'news', 'news vacated');

    assert.ok(sink.requests.every((request) => request.valid), 'every request verifies with the app\'s key and secret');
    assert.equal(sink.requests[0]!.status, 500);
    const first = sink.requests[0]!.events;
    assert.ok(first.length > 0);
    assert.ok(first.every((event) => sink.delivered().some((taken) => JSON.stringify(taken) === JSON.stringify(event))), 'what met a 500 was sent again');
    for (const request of sink.requests) {
      assert.equal(request.headers['x-pusher-key'], APP.key);
      assert.ok(Math.abs(request.timeMs - Date.now()) < 60_000, 'time_ms is the time of sending');
    }
    const delivered = sink.delivered().filter((event) => event.name !== 'subscription_count');
    assert.deepEqual(delivered.filter(onChannel('presence-room')), [
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'ann' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'ann' },
      { name: 'channel_vacated', channel: 'presence-room' },
    ]);
    assert.deepEqual(delivered.filter(onChannel('news')), [
      { name: 'channel_occupied', channel: 'news' },
      { name: 'channel_vacated', channel: 'news' },
    ], 'the app\'s news, not the other app\'s');
    assert.equal(delivered.length, 6, 'nothing of native channels or of the other app');
    await sink.waitForEvent((event) => event.name === 'subscription_count' && event.channel === 'news' && event.subscription_count === 0, 'news: 0');
    assert.deepEqual(sink.delivered().filter((event) => event.name === 'subscription_count'), [
      { name: 'subscription_count', channel: 'news', subscription_count: 1 },
      { name: 'subscription_count', channel: 'news', subscription_count: 0 },
    ], 'an endpoint that asks for every event counts the app\'s non-presence channels');

    await members.waitForEvent((event) => event.name === 'member_removed', 'member_removed');
    assert.deepEqual(members.delivered().map((event) => event.name), ['member_added', 'member_removed'], 'only the events asked for');
    await other.waitForEvent((event) => event.name === 'channel_vacated', 'the other app\'s vacated');
    assert.deepEqual(other.delivered(), [{ name: 'channel_occupied', channel: 'news' }, { name: 'channel_vacated', channel: 'news' }]);
    assert.ok(other.requests.every((request) => request.valid && request.headers['x-pusher-key'] === SMALL_APP.key));
  });

  it('cache_miss when a Pusher client subscribes to a cache channel with no event; subscription_count as counts change', async () => {
    const sink = await PusherWebhookSink.start(pusherSdk(0), () => 200);
    const counts = await PusherWebhookSink.start(pusherSdk(0));
    cleanups.push(() => sink.stop(), () => counts.stop());
    const running = await startGateway({
      pusher: { apps: [{ ...APP, webhooks: [{ url: sink.url, events: ['cache_miss'] }, { url: counts.url, events: ['subscription_count'] }] }] },
      webhooks: { retry: FAST, pollIntervalMs: 20 },
    });
    cleanups.push(() => running.stop());
    const ann = pusherClient(running.port, { app: APP, member: { user_id: 'ann' } });
    const bob = pusherClient(running.port, { app: APP });
    cleanups.push(async () => {
      ann.disconnect();
      bob.disconnect();
    });
    await Promise.all([connected(ann), connected(bob)]);

    await nextEvent(ann.subscribe('cache-empty'), 'pusher:cache_miss');
    await sink.waitForEvent((event) => event.name === 'cache_miss', 'cache_miss');
    assert.deepEqual(sink.delivered(), [{ name: 'cache_miss', channel: 'cache-empty' }]);

    const countIs = (subscription_count: number) => (event: Record<string, unknown>) =>
      event.name === 'subscription_count' && event.channel === 'news' && event.subscription_count === subscription_count;
    await subscribed(ann, 'news');
    await counts.waitForEvent(countIs(1), 'news: 1');
    await subscribed(bob, 'news');
    await counts.waitForEvent(countIs(2), 'news: 2');
    await subscribed(ann, 'presence-room');
    bob.unsubscribe('news');
    await counts.waitForEvent(() => counts.delivered().filter(onChannel('news')).length === 3, 'news: 1 again');
    assert.deepEqual(counts.delivered().filter(onChannel('news')).map((event) => event.subscription_count), [1, 2, 1]);
    assert.ok(counts.delivered().every((event) => event.name === 'subscription_count' && event.channel !== 'presence-room'),
      'presence channels are counted by their members, not by subscription_count');
    assert.deepEqual(counts.delivered().filter(onChannel('cache-empty')), [{ name: 'subscription_count', channel: 'cache-empty', subscription_count: 1 }]);
  });

  it('a client event is reported as client_event, with socket_id and, on presence channels, user_id', () => {
    const app = testConfig({ pusher: { apps: [APP] } }).pusher.apps[0]!;
    const published = (channel: string, data: unknown, session = '123.456'): WebhookEvent => ({
      id: newEventId(), type: 'channel.published', timestamp: new Date().toISOString(), node: 'n1',
      data: { channel, offset: 1, epoch: 'e', user: 'ann', session, data },
    });
    const request = new PusherWebhookFormat(app).encode([
      published(toWsgateChannel(APP.id, 'presence-room')!, { event: 'client-typing', data: '{"on":true}', user_id: 'ann' }),
      published(toWsgateChannel(APP.id, 'private-chat')!, { event: 'client-ping', data: 'x' }),
      published(toWsgateChannel(APP.id, 'private-chat')!, { event: 'server-made', data: 'x' }),
      published(toWsgateChannel(SMALL_APP.id, 'private-chat')!, { event: 'client-ping', data: 'x' }),
    ], 'msg_1', new Date(1_700_000_000_000));
    const webhook = pusherSdk(0).webhook({ headers: request.headers, rawBody: request.body });
    assert.equal(webhook.isValid(), true);
    assert.equal(webhook.getTime().getTime(), 1_700_000_000_000);
    assert.deepEqual(webhook.getEvents(), [
      { name: 'client_event', channel: 'presence-room', event: 'client-typing', data: '{"on":true}', socket_id: '123.456', user_id: 'ann' },
      { name: 'client_event', channel: 'private-chat', event: 'client-ping', data: 'x', socket_id: '123.456' },
    ]);
    assert.equal(fromWsgateChannel(toWsgateChannel(SMALL_APP.id, 'private-chat')!)?.appId, SMALL_APP.id);
  });

  it('refuses at start an event name Pusher does not know, or an endpoint name a native endpoint has', () => {
    assert.throws(() => loadConfig({ overrides: { pusher: { apps: [{ ...APP, webhooks: [{ url: 'http://sink.example/', events: ['channel_exploded'] }] }] } } }),
      /pusher\.apps\[0\]\.webhooks\[0\]\.events: "channel_exploded" is not a Pusher webhook event/);
    assert.throws(() => loadConfig({
      overrides: {
        pusher: { apps: [{ ...APP, webhooks: [{ url: 'http://sink.example/' }] }] },
        webhooks: { secrets: ['whsec_' + Buffer.from('x'.repeat(32)).toString('base64')], endpoints: [{ url: 'http://other.example/', name: 'pusher-app-1-0' }] },
      },
    }), /the name "pusher-app-1-0" belongs to pusher\.apps\[0\]\.webhooks\[0\]/);
  });
});
