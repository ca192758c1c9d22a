import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAs } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';
import { startRedis } from '../support/servers.js';
import { uniquePrefix } from '../support/prefix.js';
import { waitFor } from '../support/wait.js';

// No backend owns these types: an admitted action is answered NO_ROUTE, a refused one RATE_LIMITED.
test('action types have their own buckets, per session or per user across the user\'s sessions', async () => {
  const gw = await startGateway({
    limits: {
      actionTypes: [
        { match: 'profile.*', rate: 0.01, burst: 2, per: 'user' },
        { match: 'chat.*', rate: 0.01, burst: 3, per: 'session' },
      ],
      rate: { action: { rate: 0.01, burst: 4 }, publish: { rate: 100, burst: 200 }, subscribe: { rate: 50, burst: 100 }, send: { rate: 50, burst: 100 } },
    },
  });
  try {
    const [tab1, tab2] = [await connectAs(gw, 'alice'), await connectAs(gw, 'alice')];
    const bob = await connectAs(gw, 'bob');
    const codes = async (client: typeof tab1, type: string, times: number) => {
      const out: string[] = [];
      for (let i = 0; i < times; i++) out.push(String((await client.request({ type, payload: i })).code));
      return out;
    };
    // One allowance for all of alice's tabs.
    assert.deepEqual(await codes(tab1, 'profile.rename', 1), ['NO_ROUTE']);
    assert.deepEqual(await codes(tab2, 'profile.rename', 2), ['NO_ROUTE', 'RATE_LIMITED']);
    const refused = await tab1.request({ type: 'profile.avatar' });
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.ok(typeof refused.retryAfter === 'number' && refused.retryAfter > 50, `retryAfter ${refused.retryAfter}`);
    assert.deepEqual(await codes(bob, 'profile.rename', 2), ['NO_ROUTE', 'NO_ROUTE'], 'another user has his own');
    // Per session: each tab has three.
    assert.deepEqual(await codes(tab1, 'chat.say', 4), ['NO_ROUTE', 'NO_ROUTE', 'NO_ROUTE', 'RATE_LIMITED']);
    assert.deepEqual(await codes(tab2, 'chat.say', 3), ['NO_ROUTE', 'NO_ROUTE', 'NO_ROUTE']);
    // Everything else shares limits.rate.action, untouched by the buckets above.
    assert.deepEqual(await codes(tab1, 'order.create', 5), ['NO_ROUTE', 'NO_ROUTE', 'NO_ROUTE', 'NO_ROUTE', 'RATE_LIMITED']);
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    assert.match(metrics, /wsgate_rate_limited_total\{class="action"\} 4/);
    for (const client of [tab1, tab2, bob]) await client.close();
  } finally {
    await gw.stop();
  }
});

test('with Redis down, per-user buckets fall back to each session\'s own bucket (limited, never failing open or erroring)', async () => {
  const redis = await startRedis();
  const gw = await startGateway({
    engine: { kind: 'redis', redisUrls: [redis.url], prefix: uniquePrefix('rate-degraded') },
    limits: { actionTypes: [{ match: 'profile.*', rate: 0.01, burst: 2, per: 'user' }] },
  });
  try {
    const [tab1, tab2] = [await connectAs(gw, 'alice'), await connectAs(gw, 'alice')];
    await redis.stop();
    await waitFor(async () => (await fetch(`${gw.httpUrl}/readyz`)).status === 503, 5_000, 'the engine down');
    const codes = async (client: typeof tab1) => {
      const out: string[] = [];
      for (let i = 0; i < 3; i++) out.push(String((await client.request({ type: 'profile.rename', payload: i })).code));
      return out;
    };
    assert.deepEqual(await codes(tab1), ['NO_ROUTE', 'NO_ROUTE', 'RATE_LIMITED']);
    assert.deepEqual(await codes(tab2), ['NO_ROUTE', 'NO_ROUTE', 'RATE_LIMITED']);
    for (const client of [tab1, tab2]) client.ws.terminate();
  } finally {
    await gw.stop();
    await redis.stop();
  }
});
