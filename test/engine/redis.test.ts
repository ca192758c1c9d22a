import { RedisBroker } from '../../src/server/engine/broker/redis.js';
import { RedisRegistry } from '../../src/server/engine/registry/redis.js';
import { RedisRevocationStore } from '../../src/server/engine/revocations/redis.js';
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

describe('registration on one server reads the credential\'s revocations in the same step', () => {
  it('reports the first revocation in force among the targets, null when none is; the session is registered either way', async () => {
    const prefix = uniquePrefix('register-revoked');
    const keyspace = new ShardedKeyspace({ urls: urls(), prefix });
    const registry = new RedisRegistry(keyspace);
    const revocations = new RedisRevocationStore(keyspace);
    await registry.start();
    try {
      const unlimited = { max: 0, onLimit: 'kick-oldest' } as const;
      const record = (session: string, user: string) => ({ session, user, node: 'n1', connectedAt: 1, client: {} });
      const targets = (user: string, jti: string) => [{ kind: 'user', id: user }, { kind: 'token', id: jti }] as const;
      const until = Date.now() + 60_000;
      await revocations.revoke({ kind: 'user', id: 'eve' }, { until, reason: 'left', revokedAt: 1 });
      await revocations.revoke({ kind: 'token', id: 'jti-f' }, { until, reason: 'leaked', revokedAt: 2 });
      // Lapsed by `until` (another node's clock ahead of Redis's expiry): not in force.
      await revocations.revoke({ kind: 'user', id: 'gus' }, { until: Date.now() + 50, reason: 'old', revokedAt: 3 });
      await new Promise((resolve) => setTimeout(resolve, 60));

      const eve = await registry.addSession(record('s-eve', 'eve'), unlimited, targets('eve', 'jti-e'));
      assert.deepEqual(eve.accepted && eve.revoked, { until, reason: 'left', revokedAt: 1, target: { kind: 'user', id: 'eve' } });
      const frank = await registry.addSession(record('s-frank', 'frank'), unlimited, targets('frank', 'jti-f'));
      assert.deepEqual(frank.accepted && frank.revoked, { until, reason: 'leaked', revokedAt: 2, target: { kind: 'token', id: 'jti-f' } });
      const gus = await registry.addSession(record('s-gus', 'gus'), unlimited, targets('gus', 'jti-g'));
      assert.equal(gus.accepted && gus.revoked, null);
      assert.deepEqual(gus, { accepted: true, kicked: [], online: { seq: 1 }, revoked: null });
      for (const user of ['eve', 'frank', 'gus']) assert.deepEqual((await registry.getUserSessions(user)).map((r) => r.session), [`s-${user}`]);
      // Kicked sessions still come back after the revocations' values.
      const kicked = await registry.addSession(record('s-eve-2', 'eve'), { max: 1, onLimit: 'kick-oldest' }, targets('eve', 'jti-e'));
      assert.deepEqual(kicked.accepted && kicked.kicked.map((r) => r.session), ['s-eve']);
      assert.equal(kicked.accepted && kicked.revoked?.reason, 'left');
    } finally {
      await keyspace.close();
      await deleteKeys(SHARED_REDIS_URL, prefix);
    }
  });
});
