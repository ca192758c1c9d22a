import { RedisBroker } from '../../src/server/engine/broker/redis.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addMember, takeMember } from '../../src/server/engine/keyspace/transitions.js';
import { uniquePrefix } from '../support/prefix.js';
import { brokerContract } from './contracts/broker.js';
import { configuredEngines, deleteKeys, redisBrokerWorld, redisStoreContracts, shardedKeyspaces } from './redis-worlds.js';
import { orderedPublishContract } from './contracts/ordered-publish.js';

// The shared Redis on this machine; every world has its own prefix and deletes its keys afterwards.
const urls = () => [SHARED_REDIS_URL];
const keyspaces = shardedKeyspaces(urls);

redisStoreContracts('redis', keyspaces, urls);
orderedPublishContract('redis', configuredEngines('redis', urls, { cleanupUrls: urls }));
brokerContract('redis', redisBrokerWorld((prefix) => new ShardedKeyspace({ urls: urls(), prefix }), (keyspace) => new RedisBroker(keyspace)));

describe('transition scripts run again (a command resent after a lost reply)', () => {
  it('answer the transition they made with the same call token, and nothing to any other call', async () => {
    const prefix = uniquePrefix('transitions');
    const keyspace = new ShardedKeyspace({ urls: urls(), prefix });
    await keyspace.connect();
    try {
      const client = keyspace.client('c:x');
      const [hash, counter] = [keyspace.key('c:x', 'nodes'), keyspace.key('c:x', 'occupancy')];
      assert.deepEqual(await addMember(client, hash, counter, 'n1', '1', 'call-a'), { seq: 1 });
      assert.deepEqual(await addMember(client, hash, counter, 'n1', '1', 'call-a'), { seq: 1 }, 'resent: the same answer');
      assert.equal(await addMember(client, hash, counter, 'n1', '1', 'call-b'), null, 'another call: nothing');
      assert.deepEqual(await takeMember(client, hash, counter, 'n1', 'call-c'), { seq: 2 });
      assert.deepEqual(await takeMember(client, hash, counter, 'n1', 'call-c'), { seq: 2 }, 'resent: the same answer');
      assert.equal(await takeMember(client, hash, counter, 'n1', 'call-d'), undefined, 'another call: not there');
    } finally {
      await keyspace.close();
      await deleteKeys(SHARED_REDIS_URL, prefix);
    }
  });
});
