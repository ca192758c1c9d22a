import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisBroker } from '../../src/server/engine/broker/redis.js';
import { RedisHistoryStore } from '../../src/server/engine/history/redis.js';
import { hash64, jumpConsistentHash, shardOf } from '../../src/server/engine/keyspace/jump-hash.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { RedisRegistry } from '../../src/server/engine/registry/redis.js';
import { uniquePrefix } from '../support/prefix.js';
import { startRedis, type ServerProcess } from '../support/servers.js';
import { brokerContract } from './contracts/broker.js';
import { configuredEngines, redisBrokerWorld, redisStoreContracts, shardedKeyspaces } from './redis-worlds.js';
import { orderedPublishContract } from './contracts/ordered-publish.js';
import { RoutingTag } from '../../src/server/engine/keyspace/tags.js';
import { decodeChannelEnvelope } from '../../src/server/codec/broker-envelope.js';
import { messageFrameTemplate } from '../../src/server/codec/wsgate-v1/server-frames.js';
import { within } from '../support/wait.js';

// Three private Redis instances used as shards (not a cluster): keys and pub/sub spread by jump consistent hash.
let servers: ServerProcess[] = [];
const urls = () => servers.map((server) => server.url);
const keyspaces = shardedKeyspaces(urls);

before(async () => {
  servers = await Promise.all([startRedis(), startRedis(), startRedis()]);
});
after(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

redisStoreContracts('redis, 3 shards', keyspaces);
// Two shards: one channel's script and its subscribers on one instance while the other carries inboxes and users.
orderedPublishContract('redis, 2 shards', configuredEngines('redis', () => urls().slice(0, 2)));
brokerContract('redis, 3 shards', redisBrokerWorld((prefix) => new ShardedKeyspace({ urls: urls(), prefix }), (keyspace) => new RedisBroker(keyspace)));

describe('jump consistent hash', () => {
  it('is deterministic and stays in range', () => {
    for (let i = 0; i < 200; i++) {
      const bucket = jumpConsistentHash(hash64(`u:${i}`), 7);
      assert.ok(bucket >= 0 && bucket < 7);
      assert.equal(jumpConsistentHash(hash64(`u:${i}`), 7), bucket);
    }
    assert.equal(shardOf('anything', 1), 0);
    assert.throws(() => jumpConsistentHash(1n, 0), RangeError);
  });

  it('spreads keys evenly and moves only about 1/(n+1) of them when an instance is added', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `c:room-${i}`);
    const counts = [0, 0, 0];
    let moved = 0;
    for (const key of keys) {
      const three = shardOf(key, 3);
      const four = shardOf(key, 4);
      counts[three]++;
      if (three !== four) {
        moved++;
        // Keys only ever move to the new instance.
        assert.equal(four, 3);
      }
    }
    for (const count of counts) assert.ok(count > 3000 && count < 3700, `uneven spread: ${counts}`);
    assert.ok(moved > 2200 && moved < 2800, `moved ${moved} of 10000`);
  });
});

describe('sharded keyspace', () => {
  it('puts every key of one user, channel and node on the instance its tag hashes to', async () => {
    const prefix = uniquePrefix('spread');
    const keyspace = new ShardedKeyspace({ urls: urls(), prefix });
    await keyspace.connect();
    try {
      const registry = new RedisRegistry(keyspace);
      const history = new RedisHistoryStore(keyspace);
      for (let i = 0; i < 30; i++) {
        await registry.addSession({ session: `s${i}`, user: `user-${i}`, node: `node-${i % 3}`, connectedAt: i, client: {} }, { max: 2, onLimit: 'kick-oldest' });
        await history.append(`chat:${i}`, { dataJson: '1', fromJson: 'null' }, { size: 5, ttlMs: 60_000 });
      }
      const perServer = await Promise.all(
        servers.map(async (server, index) => {
          const client = new Redis(server.url);
          try {
            const keys = await client.keys(`${prefix}:*`);
            for (const key of keys) {
              const tag = /\{(.*?)\}/.exec(key)![1];
              assert.equal(keyspace.shardOf(tag), index, `${key} is on the wrong instance`);
            }
            return keys.length;
          } finally {
            client.disconnect();
          }
        }),
      );
      assert.ok(perServer.every((count) => count > 0), `every instance holds keys: ${perServer}`);
    } finally {
      await keyspace.close();
    }
  });
});

describe('channel publications on sharded Redis', () => {
  it('are published by the script on the channel instance, where the broker subscribes them, for channels on every instance', async () => {
    const world = await configuredEngines('redis', () => urls().slice(0, 2))();
    try {
      const channels = Array.from({ length: 8 }, (_, i) => `chat:spread-${i}`);
      assert.deepEqual(new Set(channels.map((channel) => shardOf(RoutingTag.channel(channel), 2))), new Set([0, 1]), 'the channels cover both instances');
      const arrived = new Map<string, number>();
      let resolveAll!: () => void;
      const all = new Promise<void>((resolve) => (resolveAll = resolve));
      const subscriber = await world.node('node-sub', {
        onChannelMessage(channel, payload) {
          arrived.set(channel, decodeChannelEnvelope(payload)!.position!.offset);
          if (arrived.size === channels.length) resolveAll();
        },
        onInboxMessage() {},
      });
      for (const channel of channels) await subscriber.broker.subscribe(channel);
      const publisher = await world.node('node-pub', { onChannelMessage() {}, onInboxMessage() {} });
      for (const channel of channels) {
        await publisher.publisher.publish(channel, { template: messageFrameTemplate(channel, '1', 'null'), dataJson: '1', fromJson: 'null', excludeSession: null }, { size: 0, ttlMs: 1000 });
      }
      await within(all, 5000, 'a publication on every channel');
      assert.deepEqual([...arrived.values()], channels.map(() => 1));
    } finally {
      await world.close();
    }
  });
});
