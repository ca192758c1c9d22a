import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ActionRouteStore, RegisteredRoute } from '../../../src/server/engine/action-routes/action-routes.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

const route = (match: string, url: string, registeredAt = Date.now()): RegisteredRoute => ({ match, url, apiKey: 'k', timeoutMs: 1_000, registeredAt, expiresAt: 0 });

/** The shared contract every `ActionRouteStore` implementation must pass. */
export function actionRoutesContract(name: string, factory: WorldFactory<ActionRouteStore>): void {
  describe(`ActionRouteStore contract: ${name}`, () => {
    it('lists what any instance registered, oldest registration first; renewing keeps the first time', () =>
      withWorld(factory, async (world) => {
        const [a, b] = [await world.instance(), await world.instance()];
        await a.put(route('order.*', 'http://orders/a', 1_000), 30_000);
        await b.put(route('chat.*', 'http://chat/b', 2_000), 30_000);
        await b.put(route('order.*', 'http://orders/a', 3_000), 60_000);
        const listed = await a.list();
        assert.deepEqual(listed.map((r) => [r.match, r.url, r.registeredAt]), [['order.*', 'http://orders/a', 1_000], ['chat.*', 'http://chat/b', 2_000]]);
        assert.ok(listed[0]!.expiresAt > Date.now() + 50_000, 'the renewal extended the expiry');
      }));

    it('removes a route on request and drops lapsed ones by itself', () =>
      withWorld(factory, async (world) => {
        const store = await world.instance();
        await store.put(route('a.*', 'http://a'), 30_000);
        await store.put(route('b.*', 'http://b'), 100);
        assert.equal(await store.remove('a.*', 'http://a'), true);
        assert.equal(await store.remove('a.*', 'http://a'), false);
        await elapse(world, 200);
        assert.deepEqual(await store.list(), []);
      }));
  });
}
