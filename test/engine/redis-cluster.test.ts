import { after, before, describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema } from '../../src/server/config/schema.js';
import { createEngine, type EngineConfig } from '../../src/server/engine/create.js';
import type { Broker } from '../../src/server/engine/broker/broker.js';
import { RedisClusterBroker } from '../../src/server/engine/broker/redis-cluster.js';
import { RedisHistoryStore } from '../../src/server/engine/history/redis.js';
import { ClusterKeyspace } from '../../src/server/engine/keyspace/cluster.js';
import { RedisPresenceStore } from '../../src/server/engine/presence/redis.js';
import { RedisRegistry } from '../../src/server/engine/registry/redis.js';
import { RedisTicketStore } from '../../src/server/engine/tickets/redis.js';
import { uniquePrefix } from '../support/prefix.js';
import { startRedisCluster, type RedisClusterProcess } from '../support/servers.js';
import { brokerContract } from './contracts/broker.js';
import { historyContract } from './contracts/history.js';
import { presenceContract } from './contracts/presence.js';
import { registryContract } from './contracts/registry.js';
import { ticketsContract } from './contracts/tickets.js';
import { idempotencyContract } from './contracts/idempotency.js';
import { RedisIdempotencyStore } from '../../src/server/engine/idempotency/redis.js';
import { twoNodeSmoke } from './engine-smoke.js';
import { redisWorlds, type KeyspaceMaker } from './redis-worlds.js';

// A private 3-master Redis Cluster: keys by hash tag, channels and inboxes over sharded pub/sub.
let cluster: RedisClusterProcess;
before(async () => {
  cluster = await startRedisCluster();
});
after(() => cluster.stop());

const keyspaces: KeyspaceMaker = (prefix) => new ClusterKeyspace({ urls: cluster.urls, prefix });

registryContract('redis-cluster', redisWorlds('registry', keyspaces, (keyspace) => new RedisRegistry(keyspace)));
presenceContract('redis-cluster', redisWorlds('presence', keyspaces, (keyspace) => new RedisPresenceStore(keyspace)));
historyContract('redis-cluster', redisWorlds('history', keyspaces, (keyspace) => new RedisHistoryStore(keyspace)));
ticketsContract('redis-cluster', redisWorlds('tickets', keyspaces, (keyspace) => new RedisTicketStore(keyspace)));
idempotencyContract('redis-cluster', redisWorlds('idempotency', keyspaces, (keyspace) => new RedisIdempotencyStore(keyspace)));
brokerContract('redis-cluster', async () => {
  const prefix = uniquePrefix('broker');
  const opened: Array<{ broker: Broker; keyspace: ClusterKeyspace }> = [];
  return {
    async node(nodeId, handler) {
      const keyspace = new ClusterKeyspace({ urls: cluster.urls, prefix });
      const broker = new RedisClusterBroker(keyspace);
      opened.push({ broker, keyspace });
      await broker.start(nodeId, handler);
      return broker;
    },
    async close() {
      for (const { broker, keyspace } of opened) {
        await broker.close();
        await keyspace.close();
      }
    },
  };
});

describe('createEngine redis-cluster', () => {
  it('runs two nodes on a Redis Cluster', async () => {
    const defaults = (Value.Default(ConfigSchema, {}) as { engine: EngineConfig }).engine;
    const config: EngineConfig = { ...defaults, kind: 'redis-cluster', redisUrls: cluster.urls, prefix: uniquePrefix('engine') };
    await twoNodeSmoke(() => createEngine(config));
  });
});
