import { RedisBroker } from '../../src/server/engine/broker/redis.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { RedisHistoryStore } from '../../src/server/engine/history/redis.js';
import { RedisPresenceStore } from '../../src/server/engine/presence/redis.js';
import { RedisRegistry } from '../../src/server/engine/registry/redis.js';
import { RedisTicketStore } from '../../src/server/engine/tickets/redis.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { uniquePrefix } from '../support/prefix.js';
import { brokerContract } from './contracts/broker.js';
import { historyContract } from './contracts/history.js';
import { presenceContract } from './contracts/presence.js';
import { registryContract } from './contracts/registry.js';
import { ticketsContract } from './contracts/tickets.js';
import { idempotencyContract } from './contracts/idempotency.js';
import { RedisIdempotencyStore } from '../../src/server/engine/idempotency/redis.js';
import { redisWorlds, shardedKeyspaces } from './redis-worlds.js';

// The shared Redis on this machine; every world has its own prefix and deletes its keys afterwards.
const urls = () => [SHARED_REDIS_URL];
const keyspaces = shardedKeyspaces(urls);

registryContract('redis', redisWorlds('registry', keyspaces, (keyspace) => new RedisRegistry(keyspace), urls));
presenceContract('redis', redisWorlds('presence', keyspaces, (keyspace) => new RedisPresenceStore(keyspace), urls));
historyContract('redis', redisWorlds('history', keyspaces, (keyspace) => new RedisHistoryStore(keyspace), urls));
ticketsContract('redis', redisWorlds('tickets', keyspaces, (keyspace) => new RedisTicketStore(keyspace), urls));
idempotencyContract('redis', redisWorlds('idempotency', keyspaces, (keyspace) => new RedisIdempotencyStore(keyspace), urls));

brokerContract('redis', async () => {
  const prefix = uniquePrefix('broker');
  const opened: Array<{ broker: RedisBroker; keyspace: ShardedKeyspace }> = [];
  return {
    async node(nodeId, handler) {
      const keyspace = new ShardedKeyspace({ urls: urls(), prefix });
      const broker = new RedisBroker(keyspace);
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
