import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueueEntry, WebhookQueue } from '../../../src/server/engine/webhook-queue/webhook-queue.js';
import { waitFor } from '../../support/wait.js';
import { withWorld, type WorldFactory } from './world.js';

const texts = (entries: QueueEntry[]) => entries.map((entry) => entry.entry);

/** Every pending entry of `partition`, claimed for `owner` page by page. */
async function claimAll(queue: WebhookQueue, partition: string, owner: string, page: number): Promise<QueueEntry[]> {
  const all: QueueEntry[] = [];
  let cursor: string | null = '0-0';
  while (cursor !== null) {
    const { entries, next }: { entries: QueueEntry[]; next: string | null } = await queue.claimPending(partition, owner, cursor, page);
    all.push(...entries);
    cursor = next;
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
        assert.deepEqual(texts(await queue.readNew('p', 'n1', 3)), ['e1', 'e2', 'e3']);
        assert.deepEqual(texts(await queue.readNew('p', 'n1', 10)), ['e4', 'e5']);
        assert.deepEqual(await queue.readNew('p', 'n1', 10), []);
        assert.equal(await queue.length('p'), 5, 'read but not acknowledged: still there');
        await queue.ack('p', ids.slice(0, 2));
        assert.equal(await queue.length('p'), 3);
        assert.equal(await queue.length('other'), 0);
      }));

    it('hands the pending entries of a consumer that is gone to the next one, in order, page by page', () =>
      withWorld(factory, async (world) => {
        const [first, second] = await Promise.all([world.instance(), world.instance()]);
        for (let i = 1; i <= 7; i++) await first.append('p', `e${i}`, 100);
        const read = await first.readNew('p', 'dead-node', 5);
        await first.ack('p', [read[1]!.id]);
        // e1, e3, e4, e5 were read by the dead node and never acknowledged; e6 and e7 were never read.
        assert.deepEqual(texts(await claimAll(second, 'p', 'heir', 2)), ['e1', 'e3', 'e4', 'e5']);
        assert.deepEqual(texts(await second.readNew('p', 'heir', 10)), ['e6', 'e7']);
        // Claimed entries stay pending until acknowledged; a later heir gets them again.
        assert.deepEqual(texts(await claimAll(first, 'p', 'heir-2', 100)), ['e1', 'e3', 'e4', 'e5', 'e6', 'e7']);
      }));

    it('refuses entries beyond the bound instead of dropping older ones', () =>
      withWorld(factory, async (world) => {
        const queue = await world.instance();
        assert.ok(await queue.append('p', 'a', 2));
        assert.ok(await queue.append('p', 'b', 2));
        assert.equal(await queue.append('p', 'c', 2), null);
        const [a] = await queue.readNew('p', 'n', 1);
        assert.equal(await queue.append('p', 'c', 2), null, 'a pending entry still counts');
        await queue.ack('p', [a!.id]);
        assert.ok(await queue.append('p', 'c', 2));
        assert.deepEqual(texts(await queue.readNew('p', 'n', 10)), ['b', 'c']);
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
