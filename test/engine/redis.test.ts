import { RedisBroker } from '../../src/server/engine/broker/redis.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { brokerContract } from './contracts/broker.js';
import { redisBrokerWorld, redisStoreContracts, shardedKeyspaces } from './redis-worlds.js';

// The shared Redis on this machine; every world has its own prefix and deletes its keys afterwards.
const urls = () => [SHARED_REDIS_URL];
const keyspaces = shardedKeyspaces(urls);

redisStoreContracts('redis', keyspaces, urls);
brokerContract('redis', redisBrokerWorld((prefix) => new ShardedKeyspace({ urls: urls(), prefix }), (keyspace) => new RedisBroker(keyspace)));
