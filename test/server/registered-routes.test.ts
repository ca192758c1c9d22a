import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryActionRouteStore } from '../../src/server/engine/action-routes/memory.js';
import { createLogger } from '../../src/server/observability/logger.js';
import { RegisteredRoutes } from '../../src/server/rpc/registered-routes.js';
import { TestClock } from '../support/clock.js';

test('registered routes are read from the store at most once per maxAgeMs on their clock, and at once after invalidate', async () => {
  const clock = new TestClock();
  const store = new MemoryActionRouteStore({ clock: clock.now });
  const routes = new RegisteredRoutes(store, createLogger('silent'), { maxAgeMs: 1_000, clock: clock.now });
  const route = { match: 'order.*', url: 'http://backend.test/actions', apiKey: 'k', timeoutMs: 1_000, registeredAt: clock.now(), expiresAt: 0 };
  assert.equal(await routes.lookup('order.create'), null);
  await store.put(route, 60_000);
  assert.equal(await routes.lookup('order.create'), null, 'the table read a moment ago is still in use');
  await clock.elapse(1_001);
  assert.equal((await routes.lookup('order.create'))?.url, route.url, 'read again once it is older than maxAgeMs');
  await store.remove(route.match, route.url);
  assert.equal((await routes.lookup('order.create'))?.url, route.url);
  routes.invalidate();
  assert.equal(await routes.lookup('order.create'), null, 'invalidate forces the next read');
});
