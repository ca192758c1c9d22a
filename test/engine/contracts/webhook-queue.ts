import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueueEntry, WebhookQueue } from '../../../src/server/engine/webhook-queue/webhook-queue.js';
import { waitFor } from '../../support/wait.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

const texts = (entries: QueueEntry[] | null) => {
  assert.ok(entries, 'the reader holds the lease');
  return entries.map((entry) => entry.entry);
};

/** Reads new entries as the partition's lease holder (the lease is taken, or renewed, first). */
async function readAsOwner(queue: WebhookQueue, partition: string, owner: string, count: number): Promise<QueueEntry[]> {
  assert.ok(await queue.lease(partition, owner, 60_000), `${owner} takes the lease of ${partition}`);
  const entries = await queue.readNew(partition, owner, count);
  assert.ok(entries, `${owner} holds the lease of ${partition}`);
  return entries;
}

/** Every pending entry of `partition`, claimed for `owner` page by page. */
async function claimAll(queue: WebhookQueue, partition: string, owner: string, page: number): Promise<QueueEntry[]> {
  const all: QueueEntry[] = [];
  let cursor: string | null = '0-0';
  while (cursor !== null) {
    const claimed = await queue.claimPending(partition, owner, cursor, page);
    assert.ok(claimed, `${owner} holds the lease of ${partition}`);
    all.push(...claimed.entries);
    cursor = claimed.next;
  }
  return all;
}

/** The shared contract every `WebhookQueue` implementation must pass. */
export function webhookQueueContract(name: string, factory: WorldFactory<WebhookQueue>): void {
  describe(`WebhookQueue contract: ${name}`, () => {
    it('hands entries out in order, once, and keeps them until acknowledged', () =>
      withWorld(factory, async (world) => {
        const queue = await world.instance();
        const ids: string[] = [];
        for (let i = 1; i <= 5; i++) ids.push((await queue.append('p', `e${i}`, 100))!);
        assert.equal(new Set(ids).size, 5);
        assert.equal(await queue.length('p'), 5);
        assert.deepEqual(texts(await readAsOwner(queue, 'p', 'n1', 3)), ['e1', 'e2', 'e3']);
        assert.deepEqual(texts(await readAsOwner(queue, 'p', 'n1', 10)), ['e4', 'e5']);
        assert.deepEqual(await readAsOwner(queue, 'p', 'n1', 10), []);
        assert.equal(await queue.length('p'), 5, 'read but not acknowledged: still there');
        await queue.ack('p', ids.slice(0, 2));
        assert.equal(await queue.length('p'), 3);
        assert.equal(await queue.length('other'), 0);
      }));

    it('hands the pending entries of a consumer that is gone to the next one, in order, page by page', () =>
      withWorld(factory, async (world) => {
        const [first, second] = await Promise.all([world.instance(), world.instance()]);
        for (let i = 1; i <= 7; i++) await first.append('p', `e${i}`, 100);
        assert.ok(await first.lease('p', 'dead-node', 200));
        const read = await first.readNew('p', 'dead-node', 5);
        await first.ack('p', [read![1]!.id]);
        // e1, e3, e4, e5 were read by the dead node and never acknowledged; e6 and e7 were never read.
        await elapse(world, 200);
        await waitFor(() => second.lease('p', 'heir', 60_000), 5_000, 'the dead node\'s lease to lapse');
        assert.deepEqual(texts(await claimAll(second, 'p', 'heir', 2)), ['e1', 'e3', 'e4', 'e5']);
        assert.deepEqual(texts(await second.readNew('p', 'heir', 10)), ['e6', 'e7']);
        // Claimed entries stay pending until acknowledged; a later heir gets them again.
        await second.release('p', 'heir');
        assert.ok(await first.lease('p', 'heir-2', 60_000));
        assert.deepEqual(texts(await claimAll(first, 'p', 'heir-2', 100)), ['e1', 'e3', 'e4', 'e5', 'e6', 'e7']);
      }));

    it('hands nothing to a reader that does not hold the lease, so a former owner cannot take entries from its heir', () =>
      withWorld(factory, async (world) => {
        const [former, heir] = await Promise.all([world.instance(), world.instance()]);
        await former.append('p', 'e1', 100);
        assert.equal(await former.readNew('p', 'former', 10), null, 'no lease taken yet');
        assert.equal(await former.claimPending('p', 'former', '0-0', 10), null);
        assert.ok(await former.lease('p', 'former', 200));
        assert.deepEqual(texts(await former.readNew('p', 'former', 10)), ['e1']);
        await former.append('p', 'e2', 100);
        // The former owner was too slow to renew: its heir takes the partition over, and the former owner's next read
        // is refused, so e2 is the heir's.
        await elapse(world, 200);
        await waitFor(() => heir.lease('p', 'heir', 60_000), 5_000, 'the former owner\'s lease to lapse');
        assert.equal(await former.readNew('p', 'former', 10), null);
        assert.equal(await former.claimPending('p', 'former', '0-0', 10), null);
        assert.deepEqual(texts(await claimAll(heir, 'p', 'heir', 10)), ['e1']);
        assert.deepEqual(texts(await heir.readNew('p', 'heir', 10)), ['e2']);
      }));

    it('refuses entries beyond the bound instead of dropping older ones', () =>
      withWorld(factory, async (world) => {
        const queue = await world.instance();
        assert.ok(await queue.append('p', 'a', 2));
        assert.ok(await queue.append('p', 'b', 2));
        assert.equal(await queue.append('p', 'c', 2), null);
        const [a] = await readAsOwner(queue, 'p', 'n', 1);
        assert.equal(await queue.append('p', 'c', 2), null, 'a pending entry still counts');
        await queue.ack('p', [a!.id]);
        assert.ok(await queue.append('p', 'c', 2));
        assert.deepEqual(texts(await readAsOwner(queue, 'p', 'n', 10)), ['b', 'c']);
      }));

    it('gives a partition lease to one owner at a time, renewable, released or expired', () =>
      withWorld(factory, async (world) => {
        const [a, b] = await Promise.all([world.instance(), world.instance()]);
        const results = await Promise.all([a.lease('p', 'n1', 60_000), b.lease('p', 'n2', 60_000)]);
        assert.equal(results.filter(Boolean).length, 1);
        const [holder, other] = results[0] ? (['n1', 'n2'] as const) : (['n2', 'n1'] as const);
        assert.equal(await a.lease('p', holder, 60_000), true, 'renewed');
        assert.equal(await a.lease('p', other, 60_000), false);
        await b.release('p', other);
        assert.equal(await a.lease('p', other, 60_000), false, 'only the holder releases');
        await b.release('p', holder);
        assert.equal(await a.lease('p', other, 200), true);
        await elapse(world, 200);
        await waitFor(async () => b.lease('p', holder, 60_000), 5_000, 'the short lease to expire');
      }));

    it('keeps dead letters bounded, pages them oldest first and hands each out once', () =>
      withWorld(factory, async (world) => {
        const [a, b] = await Promise.all([world.instance(), world.instance()]);
        assert.equal(await a.addDead('d', ['x1', 'x2', 'x3'], 4), 3);
        assert.equal(await a.addDead('d', ['x4', 'x5'], 4), 1);
        assert.equal(await a.deadCount('d'), 4);
        const page1 = await a.listDead('d', null, 3);
        assert.deepEqual(texts(page1.entries), ['x1', 'x2', 'x3']);
        assert.ok(page1.next);
        const page2 = await a.listDead('d', page1.next, 3);
        assert.deepEqual([texts(page2.entries), page2.next], [['x4'], null]);
        const ids = page1.entries.map((entry) => entry.id);
        const [taken1, taken2] = await Promise.all([a.takeDead('d', ids), b.takeDead('d', ids)]);
        assert.deepEqual(texts([...taken1, ...taken2]).sort(), ['x1', 'x2', 'x3']);
        assert.deepEqual(await a.takeDead('d', ['0-1']), []);
        assert.equal(await b.deadCount('d'), 1);
      }));
  });
}
