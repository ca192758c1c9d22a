import { after, before, describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema } from '../../src/server/config/schema.js';
import { createEngine, type EngineConfig } from '../../src/server/engine/create.js';
import { RedisClusterBroker } from '../../src/server/engine/broker/redis-cluster.js';
import { ClusterKeyspace } from '../../src/server/engine/keyspace/cluster.js';
import { uniquePrefix } from '../support/prefix.js';
import { startRedisCluster, type RedisClusterProcess } from '../support/servers.js';
import { brokerContract } from './contracts/broker.js';
import { twoNodeSmoke } from './engine-smoke.js';
import { configuredEngines, redisBrokerWorld, redisStoreContracts, type KeyspaceMaker } from './redis-worlds.js';
import { orderedPublishContract } from './contracts/ordered-publish.js';

// A private 3-master Redis Cluster: keys by hash tag, channels and inboxes over sharded pub/sub.
let cluster: RedisClusterProcess;
before(async () => {
  cluster = await startRedisCluster();
});
after(() => cluster.stop());

const keyspaces: KeyspaceMaker = (prefix) => new ClusterKeyspace({ urls: cluster.urls, prefix });

redisStoreContracts('redis-cluster', keyspaces);
orderedPublishContract('redis-cluster', configuredEngines('redis-cluster', () => cluster.urls));
brokerContract('redis-cluster', redisBrokerWorld((prefix) => new ClusterKeyspace({ urls: cluster.urls, prefix }), (keyspace) => new RedisClusterBroker(keyspace)));

describe('createEngine redis-cluster', () => {
  it('runs two nodes on a Redis Cluster', async () => {
    const defaults = (Value.Default(ConfigSchema, {}) as { engine: EngineConfig }).engine;
    const config: EngineConfig = { ...defaults, kind: 'redis-cluster', redisUrls: cluster.urls, prefix: uniquePrefix('engine') };
    await twoNodeSmoke(() => createEngine(config));
  });
});
