import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrokerHandler } from '../../src/server/engine/broker/broker.js';
import { RedisBroker } from '../../src/server/engine/broker/redis.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { uniquePrefix } from '../support/prefix.js';
import { startRedis, type ServerProcess } from '../support/servers.js';
import { deferred, within } from '../support/wait.js';

/** A handler that lets the test await health transitions and deliveries as events. */
function watchingHandler() {
  const health: boolean[] = [];
  const received: string[] = [];
  let onHealth = deferred<boolean>();
  let onMessage = deferred<string>();
  const handler: BrokerHandler = {
    onChannelMessage(channel, payload) {
      received.push(`${channel}=${payload.toString()}`);
      onMessage.resolve(received.at(-1)!);
    },
    onInboxMessage(payload) {
      received.push(`inbox=${payload.toString()}`);
      onMessage.resolve(received.at(-1)!);
    },
    onHealthChange(healthy) {
      health.push(healthy);
      onHealth.resolve(healthy);
    },
  };
  return {
    handler,
    health,
    received,
    nextHealth: () => within(onHealth.promise.finally(() => (onHealth = deferred())), 15_000, 'a health change'),
    nextMessage: () => within(onMessage.promise.finally(() => (onMessage = deferred())), 5000, 'a delivery'),
  };
}

describe('Redis broker across a Redis restart', () => {
  let redis: ServerProcess;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  it('reports unhealthy while Redis is down, restores every subscription, reports healthy, and delivers again', async () => {
    const prefix = uniquePrefix('outage');
    const keyspace = new ShardedKeyspace({ urls: [redis.url], prefix });
    const broker = new RedisBroker(keyspace);
    const watch = watchingHandler();
    const firstHealth = watch.nextHealth();
    await broker.start('node-a', watch.handler);
    assert.equal(await firstHealth, true);
    await broker.subscribe('chat:one');
    await broker.subscribe('org:acme/view:x');
    try {
      let message = watch.nextMessage();
      await broker.publish('chat:one', Buffer.from('before'));
      assert.equal(await message, 'chat:one=before');

      const down = watch.nextHealth();
      await redis.stop();
      assert.equal(await down, false);
      assert.equal(broker.isHealthy(), false);
      // While down, publishing fails at once instead of queueing, and never crashes the node.
      await assert.rejects(broker.publish('chat:one', Buffer.from('lost')));
      // Subscription changes during the outage are remembered.
      await broker.subscribe('chat:during');
      await broker.unsubscribe('org:acme/view:x');

      const up = watch.nextHealth();
      await redis.restart();
      assert.equal(await up, true);
      assert.equal(broker.isHealthy(), true);

      for (const channel of ['chat:one', 'chat:during']) {
        message = watch.nextMessage();
        await broker.publish(channel, Buffer.from('after'));
        assert.equal(await message, `${channel}=after`);
      }
      message = watch.nextMessage();
      await broker.publish('org:acme/view:x', Buffer.from('unwanted'));
      await broker.sendToNode('node-a', Buffer.from('inbox-after'));
      assert.equal(await message, 'inbox=inbox-after', 'the inbox is restored and the dropped channel stays dropped');
      assert.deepEqual(watch.health, [true, false, true]);
      assert.deepEqual(broker.stats().subscriptions, 2);
    } finally {
      await broker.close();
      await keyspace.close();
    }
  });
});
