import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, createRedisClient } from '../../src/server/engine/keyspace/connection.js';
import { startRedis } from '../support/servers.js';
import { uniquePrefix } from '../support/prefix.js';

// Increments the key, then keeps Redis busy long enough for the test to kill it before the reply leaves.
const INCREMENT_THEN_SPIN = `
redis.call('INCR', KEYS[1])
local started = tonumber(redis.call('TIME')[1])
while tonumber(redis.call('TIME')[1]) < started + 3 do end
return 1`;

test('a command whose reply a dropped connection lost fails and is not run again after the reconnect', async () => {
  const redis = await startRedis();
  const client = createRedisClient(redis.url, {});
  try {
    await connectClient(client, redis.url);
    const key = `${uniquePrefix('unanswered')}:count`;
    const running = client.eval(INCREMENT_THEN_SPIN, 1, key);
    const settled = running.then(() => 'resolved', (error: Error) => error.message);
    await redis.restart();
    assert.match(await settled, /Connection lost before the reply/);
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
    // A resent script would have incremented the key on the restarted server.
    assert.equal(await client.get(key), null);
  } finally {
    client.disconnect();
    await redis.stop();
  }
});
