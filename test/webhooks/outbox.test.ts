/**
 * The outbox on its own, against a webhook queue whose appends the test answers: an event emitted at any moment —
 * also in the instant the pump finishes its last append — reaches the queue without waiting for another emission.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { MemoryWebhookQueue } from '../../src/server/engine/webhook-queue/memory.js';
import { createLogger } from '../../src/server/observability/logger.js';
import type { WebhookEndpoint } from '../../src/server/webhooks/endpoints.js';
import { EventKey, newEventId, type KeyedEvent } from '../../src/server/webhooks/events.js';
import { WebhookOutbox } from '../../src/server/webhooks/outbox.js';
import { WebhookMetrics } from '../../src/server/webhooks/webhook-metrics.js';

/** A memory queue whose appends resolve only when the test says so. */
class HeldQueue extends MemoryWebhookQueue {
  readonly held: Array<() => void> = [];
  readonly appended: string[] = [];

  override async append(partition: string, entry: string, maxLength: number): Promise<string | null> {
    await new Promise<void>((resolve) => this.held.push(resolve));
    this.appended.push((JSON.parse(entry) as { e: { id: string } }).e.id);
    return super.append(partition, entry, maxLength);
  }
}

const endpoint = { name: 'backend', events: new Set(['user.offline']) } as unknown as WebhookEndpoint;

function offline(user: string): KeyedEvent {
  return { key: EventKey.user(user), seq: 2, event: { id: newEventId(), type: 'user.offline', timestamp: new Date().toISOString(), node: 'n1', data: { user } } };
}

function outboxOn(queue: HeldQueue): WebhookOutbox {
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const metrics = new WebhookMetrics(new Registry(), async () => [], () => 0);
  return new WebhookOutbox(queue, [endpoint], { partitions: 4, maxQueueLength: 1_000, maxBuffered: 1_000 }, metrics, createLogger('info', quiet), () => {});
}

/** Lets `hops` microtasks run. */
async function microtasks(hops: number): Promise<void> {
  for (let i = 0; i < hops; i++) await Promise.resolve();
}

describe('webhook outbox', () => {
  test('an event emitted while the pump is finishing its last append is appended too, with no later emission', async () => {
    // The window is a few microtasks wide: try every offset around the moment the last append is answered.
    for (let hops = 0; hops < 20; hops++) {
      const queue = new HeldQueue();
      const outbox = outboxOn(queue);
      const first = offline('a');
      outbox.emit(first);
      assert.equal(queue.held.length, 1);
      queue.held.shift()!();
      await microtasks(hops);
      const second = offline('b');
      outbox.emit(second);
      // Whatever pump took it, its append is asked for, and answered here.
      for (let turn = 0; turn < 50 && !queue.appended.includes(second.event.id); turn++) {
        while (queue.held.length > 0) queue.held.shift()!();
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.deepEqual(queue.appended, [first.event.id, second.event.id], `emitted ${hops} microtasks after the first append was answered`);
      assert.equal(outbox.buffered, 0);
    }
  });

  test('counts an event as held until the engine answered its append', async () => {
    const queue = new HeldQueue();
    const outbox = outboxOn(queue);
    outbox.emit(offline('a'));
    await microtasks(5);
    assert.equal(outbox.buffered, 1, 'sent, not answered: still only in this node');
    queue.held.shift()!();
    for (let turn = 0; turn < 20 && outbox.buffered > 0; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(outbox.buffered, 0);
  });
});
