import { Redis } from 'ioredis';
import type { RedisKeyspace } from '../../src/server/engine/keyspace/keyspace.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { uniquePrefix } from '../support/prefix.js';
import type { Broker } from '../../src/server/engine/broker/broker.js';
import { RedisActionRouteStore } from '../../src/server/engine/action-routes/redis.js';
import { RedisHistoryStore } from '../../src/server/engine/history/redis.js';
import { RedisIdempotencyStore } from '../../src/server/engine/idempotency/redis.js';
import { RedisPresenceStore } from '../../src/server/engine/presence/redis.js';
import { RedisRegistry } from '../../src/server/engine/registry/redis.js';
import { RedisRevocationStore } from '../../src/server/engine/revocations/redis.js';
import { RedisTicketStore } from '../../src/server/engine/tickets/redis.js';
import { RedisRateLimitStore } from '../../src/server/engine/rate-limits/redis.js';
import { rateLimitsContract } from './contracts/rate-limits.js';
import { actionRoutesContract } from './contracts/action-routes.js';
import { channelIndexContract } from './contracts/channel-index.js';
import { channelCountsContract } from './contracts/channel-counts.js';
import { RedisChannelCounts } from '../../src/server/engine/channel-counts/redis.js';
import { webhookQueueContract } from './contracts/webhook-queue.js';
import { RedisChannelIndex } from '../../src/server/engine/channel-index/redis.js';
import { RedisWebhookQueue } from '../../src/server/engine/webhook-queue/redis.js';
import { historyContract } from './contracts/history.js';
import { idempotencyContract } from './contracts/idempotency.js';
import { presenceContract } from './contracts/presence.js';
import { registryContract } from './contracts/registry.js';
import { revocationsContract } from './contracts/revocations.js';
import { ticketsContract } from './contracts/tickets.js';
import type { BrokerWorldFactory, World, WorldFactory } from './contracts/world.js';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema } from '../../src/server/config/schema.js';
import { createEngine, type EngineConfig } from '../../src/server/engine/create.js';
import type { EngineKind } from '../../src/server/engine/engine.js';
import { engineWorld, type EngineWorldFactory } from './contracts/ordered-publish.js';

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

/**
 * Runs every store contract (registry, presence, history, tickets, idempotency, action routes, revocations, rate
 * limits, channel index, channel counts, webhook queue) on the keyspaces `makeKeyspace` builds.
 */
export function redisStoreContracts(name: string, makeKeyspace: KeyspaceMaker, cleanupUrls?: () => string[]): void {
  registryContract(name, redisWorlds('registry', makeKeyspace, (keyspace) => new RedisRegistry(keyspace), cleanupUrls));
  presenceContract(name, redisWorlds('presence', makeKeyspace, (keyspace) => new RedisPresenceStore(keyspace), cleanupUrls));
  historyContract(name, redisWorlds('history', makeKeyspace, (keyspace) => new RedisHistoryStore(keyspace), cleanupUrls));
  ticketsContract(name, redisWorlds('tickets', makeKeyspace, (keyspace) => new RedisTicketStore(keyspace), cleanupUrls));
  idempotencyContract(name, redisWorlds('idempotency', makeKeyspace, (keyspace) => new RedisIdempotencyStore(keyspace), cleanupUrls));
  actionRoutesContract(name, redisWorlds('routes', makeKeyspace, (keyspace) => new RedisActionRouteStore(keyspace), cleanupUrls));
  revocationsContract(name, redisWorlds('revocations', makeKeyspace, (keyspace) => new RedisRevocationStore(keyspace), cleanupUrls));
  rateLimitsContract(name, redisWorlds('rates', makeKeyspace, (keyspace) => new RedisRateLimitStore(keyspace), cleanupUrls));
  channelIndexContract(name, redisWorlds('channel-index', makeKeyspace, (keyspace) => new RedisChannelIndex(keyspace), cleanupUrls));
  channelCountsContract(name, redisWorlds('channel-counts', makeKeyspace, (keyspace) => new RedisChannelCounts(keyspace), cleanupUrls));
  webhookQueueContract(name, redisWorlds('webhook-queue', makeKeyspace, (keyspace) => new RedisWebhookQueue(keyspace), cleanupUrls));
}

/** A broker world: each node gets its own keyspace (own connections) under one prefix, and its own broker on it. */
export function redisBrokerWorld<K extends RedisKeyspace>(makeKeyspace: (prefix: string) => K, makeBroker: (keyspace: K) => Broker): BrokerWorldFactory {
  return async () => {
    const prefix = uniquePrefix('broker');
    const opened: Array<{ broker: Broker; keyspace: K }> = [];
    return {
      async node(nodeId, handler) {
        const keyspace = makeKeyspace(prefix);
        const broker = makeBroker(keyspace);
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
  };
}

/**
 * Engines built by `createEngine` for `kind` (as nodes would build them), under a prefix unique to the world; keys
 * left on `cleanupUrls` are deleted afterwards.
 */
export function configuredEngines(kind: Exclude<EngineKind, 'memory'>, redisUrls: () => string[], options: { natsUrls?: () => string[]; cleanupUrls?: () => string[] } = {}): EngineWorldFactory {
  return async () => {
    const defaults = (Value.Default(ConfigSchema, {}) as { engine: EngineConfig }).engine;
    const config: EngineConfig = { ...defaults, kind, redisUrls: redisUrls(), natsUrls: options.natsUrls?.() ?? [], prefix: uniquePrefix('publish') };
    const world = await engineWorld(() => createEngine(config))();
    return {
      node: (nodeId, handler) => world.node(nodeId, handler),
      async close() {
        await world.close();
        await Promise.all((options.cleanupUrls?.() ?? []).map((url) => deleteKeys(url, config.prefix)));
      },
    };
  };
}
