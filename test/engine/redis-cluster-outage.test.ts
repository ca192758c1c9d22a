import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrokerHandler } from '../../src/server/engine/broker/broker.js';
import { RedisClusterBroker } from '../../src/server/engine/broker/redis-cluster.js';
import { ClusterKeyspace } from '../../src/server/engine/keyspace/cluster.js';
import { uniquePrefix } from '../support/prefix.js';
import { startRedisCluster, type RedisClusterProcess } from '../support/servers.js';
import { waitFor } from '../support/wait.js';

describe('Redis Cluster broker across the restart of a master', () => {
  let cluster: RedisClusterProcess;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(() => cluster.stop());

  it('reports unhealthy while a master is down, then delivers on every channel again once it is back', async () => {
    const health: boolean[] = [];
    const received = new Set<string>();
    const handler: BrokerHandler = {
      onChannelMessage: (channel, payload) => received.add(`${channel}=${payload.toString()}`),
      onInboxMessage: () => {},
      onHealthChange: (healthy) => health.push(healthy),
    };
    const prefix = uniquePrefix('cluster-outage');
    const subscriberSpace = new ClusterKeyspace({ urls: cluster.urls, prefix });
    const publisherSpace = new ClusterKeyspace({ urls: cluster.urls, prefix });
    const subscriber = new RedisClusterBroker(subscriberSpace);
    const publisher = new RedisClusterBroker(publisherSpace);
    await subscriber.start('node-a', handler);
    await publisher.start('node-b', { onChannelMessage: () => {}, onInboxMessage: () => {} });
    // Enough channels that every master carries some of them.
    const channels = Array.from({ length: 24 }, (_, i) => `chat:room-${i}`);
    for (const channel of channels) await subscriber.subscribe(channel);
    const publishAll = async (tag: string) => {
      for (const channel of channels) await publisher.publish(channel, Buffer.from(tag)).catch(() => undefined);
    };
    const allReceived = (tag: string) => channels.every((channel) => received.has(`${channel}=${tag}`));
    try {
      await publishAll('before');
      await waitFor(() => allReceived('before'), 5_000, 'every channel before the outage');

      await cluster.stopNode(0);
      await waitFor(() => health.includes(false), 15_000, 'the broker to report the outage');
      await cluster.startNode(0);
      await waitFor(async () => {
        if (!subscriber.isHealthy()) return false;
        await publishAll('after');
        return allReceived('after');
      }, 30_000, 'delivery on every channel after the master is back');
      assert.equal(subscriber.isHealthy(), true);
      assert.equal(health.at(-1), true);
    } finally {
      await subscriber.close();
      await publisher.close();
      await subscriberSpace.close();
      await publisherSpace.close();
    }
  });
});
