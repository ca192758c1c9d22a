import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedBatcher, type BatchItem } from '../../src/server/webhooks/keyed-batcher.js';
import { deferred, within } from '../support/wait.js';

let counter = 0;
function item(key: string, seq?: number, step: number | null = 1): BatchItem {
  const id = `e${++counter}`;
  return { key, seq, family: seq === undefined ? undefined : `${key}#f`, step, partition: 0, entryId: id, event: { id, type: 'session.connected', timestamp: new Date().toISOString(), node: 'n', data: {} } };
}

/** Delivered batches, with a way to await the moment `count` events have been delivered. */
function deliveries(): { batches: BatchItem[][]; send: (batch: BatchItem[]) => Promise<void>; until(count: number, what: string): Promise<void> } {
  const batches: BatchItem[][] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  return {
    batches,
    async send(batch) {
      batches.push(batch);
      const delivered = batches.flat().length;
      for (const waiter of waiters.filter((candidate) => delivered >= candidate.count)) waiter.resolve();
    },
    until(count, what) {
      if (batches.flat().length >= count) return Promise.resolve();
      const done = deferred();
      waiters.push({ count, resolve: done.resolve });
      return within(done.promise, 2_000, what);
    },
  };
}

/** Lets the batcher's queued work run: anything it would send without a timer has been sent after this. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

const options = { batchSize: 3, concurrency: 4, lingerMs: 0, reorderWindowMs: 10_000, maxBuffered: 1000 };

test('no key is reordered across batches in flight at once; other keys are not held up', async () => {
  const batches: BatchItem[][] = [];
  const pending: Array<() => void> = [];
  const batcher = new KeyedBatcher(options, (batch) => {
    batches.push(batch);
    const done = deferred();
    pending.push(done.resolve);
    return done.promise;
  });
  const ids = (batch: BatchItem[]) => batch.map((entry) => entry.entryId);
  const [a1, a2, a3, b1] = [item('a'), item('a'), item('a'), item('b')];
  batcher.add(a1!);
  batcher.add(a2!);
  batcher.add(b1!);
  batcher.add(a3!);
  // a's first batch is in flight: a's later events wait for it although concurrency allows more; b goes at once.
  assert.deepEqual(batches.map(ids), [[a1!.entryId], [b1!.entryId]]);
  pending[0]!();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(ids(batches[2]!), [a2!.entryId, a3!.entryId], 'then a\'s next events, in order, in one batch');
  batcher.close();
});

test('a transition that overtook the one before it waits for it; then both go in order', async () => {
  const batches: BatchItem[][] = [];
  const batcher = new KeyedBatcher({ ...options, batchSize: 10 }, async (batch) => {
    batches.push(batch);
  });
  batcher.add(item('user:u', 1));
  await new Promise((resolve) => setImmediate(resolve));
  const third = item('user:u', 3);
  batcher.add(third);
  assert.equal(batches.length, 1, 'seq 3 waits for seq 2');
  const second = item('user:u', 2);
  batcher.add(second);
  assert.deepEqual(batches[1]!.map((entry) => entry.seq), [2, 3]);
  batcher.close();
});

test('a missing transition is waited for only up to the reorder window; an endpoint that takes one of a pair expects steps of 2', async () => {
  const { batches, send, until } = deliveries();
  const batcher = new KeyedBatcher({ ...options, reorderWindowMs: 50 }, send);
  batcher.add(item('channel:c', 1, 2));
  batcher.add(item('channel:c', 3, 2));
  await settled();
  assert.deepEqual(batches.flat().map((entry) => entry.seq), [1, 3], 'steps of 2 are no gap');
  const held = Date.now();
  batcher.add(item('channel:c', 7, 2));
  await settled();
  assert.equal(batches.flat().length, 2, 'seq 7 waits for 5');
  await until(3, 'seq 7 after the reorder window');
  assert.ok(Date.now() - held >= 40, 'held for the window');
  assert.deepEqual(batches.flat().map((entry) => entry.seq), [1, 3, 7], 'then goes without it');
  batcher.close();
});

test('a transition whose predecessor was never seen here (a partition taken over) waits for it; a family’s first goes at once', async () => {
  const { batches, send, until } = deliveries();
  const batcher = new KeyedBatcher({ ...options, batchSize: 10, reorderWindowMs: 60 }, send);
  batcher.add(item('user:new', 1));
  batcher.add(item('channel:known-elsewhere', 26));
  await settled();
  assert.deepEqual(batches.flat().map((entry) => entry.seq), [1]);
  batcher.add(item('channel:known-elsewhere', 25));
  await until(3, 'seq 25 and 26 after the reorder window');
  assert.deepEqual(batches.flat().map((entry) => entry.seq), [1, 25, 26], 'held for the window, then in order');
  batcher.close();
});
