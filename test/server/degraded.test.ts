import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAs } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';
import { startRedis } from '../support/servers.js';
import { uniquePrefix } from '../support/prefix.js';
import { waitFor } from '../support/wait.js';

test('with Redis down a node refuses channel publications it cannot sequence, keeps direct messages local, readyz says so, and it heals', async () => {
  const redis = await startRedis();
  const gw = await startGateway({ engine: { kind: 'redis', redisUrls: [redis.url], prefix: uniquePrefix('degraded'), leaseMs: 2_000 } });
  try {
    const alice = await connectAs(gw, 'alice');
    const bob = await connectAs(gw, 'bob');
    await alice.subscribe('chat:outage');
    await bob.subscribe('chat:outage');
    const readyz = async () => (await fetch(`${gw.httpUrl}/readyz`)).status;
    assert.equal(await readyz(), 200);

    await redis.stop();
    await waitFor(async () => (await readyz()) === 503, 5_000, 'readyz reports the engine down');
    // A publication without a place in the channel's sequence would reach some subscribers and silently miss others.
    const refused = await alice.request({ type: 'publish', channel: 'chat:outage', data: 'while redis is down' });
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'ENGINE_UNAVAILABLE');
    // What needs the store answers with a clear code while it is away.
    const presence = await alice.request({ type: 'presence', channel: 'chat:outage' });
    assert.equal(presence.code, 'ENGINE_UNAVAILABLE');
    const direct = bob.next('direct');
    assert.equal((await alice.request({ type: 'send', user: 'bob', data: 'psst' })).type, 'sent');
    assert.equal((await direct).data, 'psst');

    await redis.restart();
    await waitFor(async () => (await readyz()) === 200, 10_000, 'readyz reports the engine up again');
    const after = bob.next('message', (frame) => frame.data === 'redis is back');
    await waitFor(async () => {
      const reply = await alice.request({ type: 'publish', channel: 'chat:outage', data: 'redis is back' });
      return reply.type === 'published';
    }, 10_000, 'publications go through Redis again');
    assert.equal((await after).data, 'redis is back');
    assert.equal(bob.frames.some((frame) => frame.type === 'message' && frame.data === 'while redis is down'), false, 'the refused publication reached nobody');
    await alice.close();
    await bob.close();
  } finally {
    await gw.stop();
    await redis.stop();
  }
});
