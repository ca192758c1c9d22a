import { Redis } from 'ioredis';
import type { RedisKeyspace } from '../../src/server/engine/keyspace/keyspace.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { uniquePrefix } from '../support/prefix.js';
import type { World, WorldFactory } from './contracts/world.js';

/** Makes keyspaces that all use one prefix (one world), each with its own connections. */
export type KeyspaceMaker = (prefix: string) => RedisKeyspace;

export const shardedKeyspaces =
  (urls: () => string[]): KeyspaceMaker =>
  (prefix) =>
    new ShardedKeyspace({ urls: urls(), prefix, redisOptions: { maxRetriesPerRequest: 1 } });

/**
 * A world of Redis-backed stores: every instance gets its own keyspace (own connections, like another node) under a
 * prefix unique to the world. Closing the world deletes its keys where it can reach them.
 */
export function redisWorlds<T>(label: string, makeKeyspace: KeyspaceMaker, make: (keyspace: RedisKeyspace) => T, cleanupUrls: () => string[] = () => []): WorldFactory<T> {
  return async (): Promise<World<T>> => {
    const prefix = uniquePrefix(label);
    const keyspaces: RedisKeyspace[] = [];
    return {
      async instance() {
        const keyspace = makeKeyspace(prefix);
        keyspaces.push(keyspace);
        await keyspace.connect();
        return make(keyspace);
      },
      async close() {
        await Promise.all(keyspaces.map((keyspace) => keyspace.close()));
        await Promise.all(cleanupUrls().map((url) => deleteKeys(url, prefix)));
      },
    };
  };
}

/** Deletes every key under `prefix` on one server (tests sharing the long-running Redis leave nothing behind). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', () => {});
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
