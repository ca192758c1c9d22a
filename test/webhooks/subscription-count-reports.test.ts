import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubscriptionCountReports } from '../../src/server/channels/subscription-count-reports.js';
import { createLogger } from '../../src/server/observability/logger.js';
import { LifecycleEvents } from '../../src/server/webhooks/lifecycle-events.js';
import type { KeyedEvent } from '../../src/server/webhooks/events.js';

test('subscription counts: one read in flight per channel, changes meanwhile folded into one more, equal counts not repeated', async () => {
  const emitted: KeyedEvent[] = [];
  const events = new LifecycleEvents('n1', { emit: (event) => emitted.push(event) }, new Set(['channel.subscription_count']));
  let live = 0;
  const reads: Array<() => void> = [];
  const readCount = (): Promise<number> => new Promise((resolve) => reads.push(() => resolve(live)));
  const reports = new SubscriptionCountReports(events, readCount, () => live > 0, (channel) => channel.startsWith('pusher-'), createLogger('silent'));
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  reports.changed('chat:native');
  assert.equal(reads.length, 0, 'a channel the reports leave out is not read');

  live = 1;
  reports.changed('pusher-app:news');
  live = 2;
  reports.changed('pusher-app:news');
  live = 3;
  reports.changed('pusher-app:news');
  assert.equal(reads.length, 1, 'one read in flight');
  reads.shift()!();
  await settle();
  assert.equal(reads.length, 1, 'the changes made meanwhile: one more read');
  reads.shift()!();
  await settle();
  assert.equal(reads.length, 0);
  assert.deepEqual(emitted.map((event) => event.event.data.subscribers), [3], 'the first read already saw 3; the second is not repeated');

  live = 0;
  reports.changed('pusher-app:news');
  reads.shift()!();
  await settle();
  assert.deepEqual(emitted.map((event) => event.event.data), [{ channel: 'pusher-app:news', subscribers: 3 }, { channel: 'pusher-app:news', subscribers: 0 }]);
  assert.ok(emitted.every((event) => event.key === emitted[0]!.key), 'keyed by the channel, so delivered in order');
});
