import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryStore, StoredPublication } from '../../../src/server/engine/history/history.js';
import { waitFor } from '../../support/wait.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

const pub = (n: number): StoredPublication => ({ dataJson: JSON.stringify({ n, text: 'héllo:{}\n"quoted"' }), fromJson: JSON.stringify({ user: 'u:1', session: `s${n}` }) });
const keep = (size: number) => ({ size, ttlMs: 60_000 });

/** The shared contract every `HistoryStore` implementation must pass. */
export function historyContract(name: string, factory: WorldFactory<HistoryStore>): void {
  describe(`History contract: ${name}`, () => {
    it('starts a channel at offset 0 with a stable epoch and increases the offset by one per append', () =>
      withWorld(factory, async (world) => {
        const history = await world.instance();
        const start = await history.position('chat:new');
        assert.equal(start.offset, 0);
        assert.ok(start.epoch.length > 0);
        assert.deepEqual(await history.position('chat:new'), start);
        assert.deepEqual(await history.append('chat:new', pub(1), keep(0)), { offset: 1, epoch: start.epoch });
        assert.deepEqual(await history.append('chat:new', pub(2), keep(10)), { offset: 2, epoch: start.epoch });
        assert.deepEqual(await history.position('chat:new'), { offset: 2, epoch: start.epoch });
        // Channels are independent.
        assert.equal((await history.append('chat:other', pub(1), keep(0))).offset, 1);
      }));

    it('assigns every offset exactly once under concurrent appends from several nodes', () =>
      withWorld(factory, async (world) => {
        const stores = await Promise.all(Array.from({ length: 5 }, () => world.instance()));
        const positions = await Promise.all(Array.from({ length: 60 }, (_, i) => stores[i % 5].append('chat:race', pub(i), keep(100))));
        assert.deepEqual(positions.map((p) => p.offset).sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i + 1));
        assert.equal(new Set(positions.map((p) => p.epoch)).size, 1);
        const page = await stores[0].read('chat:race', { limit: 100 });
        assert.deepEqual(page.publications.map((p) => p.offset), Array.from({ length: 60 }, (_, i) => i + 1));
      }));

    it('keeps the last `size` publications, byte for byte, and reads the latest `limit`', () =>
      withWorld(factory, async (world) => {
        const history = await world.instance();
        let epoch = '';
        for (let n = 1; n <= 5; n++) epoch = (await history.append('chat:trim', pub(n), keep(3))).epoch;
        const page = await history.read('chat:trim', { limit: 10 });
        assert.deepEqual(page, { offset: 5, epoch, recovered: true, publications: [3, 4, 5].map((n) => ({ ...pub(n), offset: n })) });
        assert.deepEqual((await history.read('chat:trim', { limit: 2 })).publications.map((p) => p.offset), [4, 5]);
        // Appends without history still advance the offset but keep nothing new.
        await history.append('chat:bare', pub(1), keep(0));
        assert.deepEqual((await history.read('chat:bare', { limit: 10 })).publications, []);
      }));

    it('recovers inside the window and says recovered: false for another epoch, a passed window or too many', () =>
      withWorld(factory, async (world) => {
        const history = await world.instance();
        let epoch = '';
        for (let n = 1; n <= 6; n++) epoch = (await history.append('chat:r', pub(n), keep(4))).epoch;
        // Kept: 3..6.
        const within = await history.read('chat:r', { since: { offset: 3, epoch }, limit: 10 });
        assert.deepEqual(within, { offset: 6, epoch, recovered: true, publications: [4, 5, 6].map((n) => ({ ...pub(n), offset: n })) });
        const upToDate = await history.read('chat:r', { since: { offset: 6, epoch }, limit: 10 });
        assert.deepEqual(upToDate, { offset: 6, epoch, recovered: true, publications: [] });
        const edge = await history.read('chat:r', { since: { offset: 2, epoch }, limit: 10 });
        assert.equal(edge.recovered, true);
        assert.deepEqual(edge.publications.map((p) => p.offset), [3, 4, 5, 6]);
        const passed = await history.read('chat:r', { since: { offset: 1, epoch }, limit: 10 });
        assert.equal(passed.recovered, false);
        const otherEpoch = await history.read('chat:r', { since: { offset: 5, epoch: `${epoch}x` }, limit: 10 });
        assert.deepEqual(otherEpoch, { offset: 6, epoch, recovered: false, publications: [] });
        const future = await history.read('chat:r', { since: { offset: 9, epoch }, limit: 10 });
        assert.equal(future.recovered, false);
        const tooMany = await history.read('chat:r', { since: { offset: 3, epoch }, limit: 2 });
        assert.equal(tooMany.recovered, false);
        assert.deepEqual(tooMany.publications.map((p) => p.offset), [4, 5]);
      }));

    it('pages a read by maxBytes: at least one publication unless 0, more: true when cut, recovered unaffected', () =>
      withWorld(factory, async (world) => {
        const history = await world.instance();
        const big = (n: number) => ({ dataJson: JSON.stringify('x'.repeat(100) + n), fromJson: 'null' });
        let epoch = '';
        for (let n = 1; n <= 5; n++) epoch = (await history.append('chat:pages', big(n), keep(10))).epoch;
        const bytes = big(1).dataJson.length + 4;
        const first = await history.read('chat:pages', { since: { offset: 0, epoch }, limit: 10, maxBytes: bytes * 2 });
        assert.deepEqual([first.publications.map((p) => p.offset), first.recovered, first.more], [[1, 2], true, true]);
        const rest = await history.read('chat:pages', { since: { offset: 2, epoch }, limit: 10, maxBytes: bytes * 10 });
        assert.deepEqual([rest.publications.map((p) => p.offset), rest.recovered, rest.more], [[3, 4, 5], true, undefined]);
        const one = await history.read('chat:pages', { limit: 3, maxBytes: 1 });
        assert.deepEqual([one.publications.map((p) => p.offset), one.more], [[3], true]);
        const none = await history.read('chat:pages', { since: { offset: 1, epoch }, limit: 10, maxBytes: 0 });
        assert.deepEqual([none.publications, none.recovered, none.more, none.offset], [[], true, true, 5]);
        const upToDate = await history.read('chat:pages', { since: { offset: 5, epoch }, limit: 10, maxBytes: 0 });
        assert.deepEqual([upToDate.recovered, upToDate.more], [true, undefined]);
      }));

    it('expires a stream ttlMs after its last append, and a new epoch tells clients they cannot recover', () =>
      withWorld(factory, async (world) => {
        const history = await world.instance();
        const before = await history.append('chat:ttl', pub(1), { size: 10, ttlMs: 250 });
        await history.append('chat:ttl', pub(2), { size: 10, ttlMs: 250 });
        await elapse(world, 250);
        await waitFor(async () => (await history.position('chat:ttl')).epoch !== before.epoch, 5000, 'stream expiry');
        const page = await history.read('chat:ttl', { since: { offset: 1, epoch: before.epoch }, limit: 10 });
        assert.equal(page.recovered, false);
        assert.equal(page.offset, 0);
        assert.deepEqual(page.publications, []);
        const next = await history.append('chat:ttl', pub(3), keep(10));
        assert.equal(next.offset, 1);
        assert.notEqual(next.epoch, before.epoch);
      }));
  });
}
