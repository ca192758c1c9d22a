import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdempotencyStore } from '../../../src/server/engine/idempotency/idempotency.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

/** The shared contract every `IdempotencyStore` implementation must pass. */
export function idempotencyContract(name: string, factory: WorldFactory<IdempotencyStore>): void {
  describe(`IdempotencyStore contract: ${name}`, () => {
    it('runs once per key across instances, replays the answer, and refuses another request under the same key', () =>
      withWorld(factory, async (world) => {
        const [a, b] = [await world.instance(), await world.instance()];
        let runs = 0;
        const produce = async () => ({ offset: ++runs, epoch: 'e' });
        assert.deepEqual(await a.once('k1', 'fp', 30_000, produce), { kind: 'answer', value: { offset: 1, epoch: 'e' }, replayed: false });
        assert.deepEqual(await b.once('k1', 'fp', 30_000, produce), { kind: 'answer', value: { offset: 1, epoch: 'e' }, replayed: true });
        assert.deepEqual(await b.once('k1', 'other', 30_000, produce), { kind: 'conflict' });
        assert.equal(runs, 1);
      }));

    it('concurrent requests with one key on several instances: the work runs once and every caller gets its answer', () =>
      withWorld(factory, async (world) => {
        const stores = await Promise.all(Array.from({ length: 4 }, () => world.instance()));
        let runs = 0;
        const produce = async () => {
          runs++;
          await new Promise((resolve) => setTimeout(resolve, 50));
          return { offset: 7 };
        };
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % stores.length]!.once('race', 'fp', 30_000, produce)));
        assert.equal(runs, 1);
        assert.equal(results.filter((r) => r.kind === 'answer' && !r.replayed).length, 1);
        for (const result of results) assert.deepEqual(result.kind === 'answer' && result.value, { offset: 7 });
      }));

    it('forgets a failed request, so its retry runs again; forgets answers after the ttl', () =>
      withWorld(factory, async (world) => {
        const store = await world.instance();
        await assert.rejects(store.once('fails', 'fp', 30_000, async () => { throw new Error('down'); }), /down/);
        assert.deepEqual(await store.once('fails', 'fp', 30_000, async () => 'ok'), { kind: 'answer', value: 'ok', replayed: false });
        await store.once('short', 'fp', 100, async () => 1);
        await elapse(world, 200);
        assert.deepEqual(await store.once('short', 'fp', 100, async () => 2), { kind: 'answer', value: 2, replayed: false });
      }));
  });
}
