import type { Cluster, Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { AppendThenPublish } from './broker/append-then-publish.js';
import { NatsBroker } from './broker/nats.js';
import { RedisChannelPublisher } from './broker/redis-channel-publisher.js';
import { RedisClusterBroker } from './broker/redis-cluster.js';
import { RedisBroker } from './broker/redis.js';
import type { Engine, EngineKind } from './engine.js';
import { ClusterKeyspace } from './keyspace/cluster.js';
import { ShardedKeyspace } from './keyspace/sharded.js';
import { MemoryEngine } from './memory.js';
import { RedisEngine } from './redis.js';

export type EngineConfig = Config['engine'];

export interface EngineOptions {
  /** Receives connection errors of Redis and NATS (otherwise swallowed so the node keeps running); log them here. */
  onError?: (error: Error, source: string) => void;
  /**
   * Redis connections the caller made, used instead of `engine.redisUrls` (as socket.io's `createAdapter(pub, sub)`
   * takes its clients): for `redis` and `nats`, `{ clients }` with one `Redis` per instance in shard order; for
   * `redis-cluster`, `{ cluster }` with a `Cluster` made with `shardedSubscribers: true`. The caller owns them: wsgate
   * connects lazy ones, never quits them, and makes its pub/sub connections with `duplicate()`.
   */
  redis?: { clients: readonly Redis[] } | { cluster: Cluster };
}

/** A configuration the engine cannot run with; the message names the config key to fix. */
export class EngineConfigError extends Error {
  override readonly name = 'EngineConfigError';
}

function required(urls: readonly string[], key: 'engine.redisUrls' | 'engine.natsUrls', kind: EngineKind): string[] {
  if (urls.length === 0) {
    const what = key === 'engine.redisUrls' ? 'one or more redis:// URLs' : 'one or more nats:// URLs';
    throw new EngineConfigError(`engine.kind "${kind}" needs ${key} (${what}); it is empty`);
  }
  return [...urls];
}

/** The keyspace of `redis` and `nats`: the caller's clients, or connections to `engine.redisUrls`. */
function shardedKeyspace(config: EngineConfig, options: EngineOptions, kind: 'redis' | 'nats'): ShardedKeyspace {
  const onError = (error: Error, url: string) => options.onError?.(error, `redis ${url}`);
  if (options.redis && 'cluster' in options.redis) throw new EngineConfigError(`engine.kind "${kind}" takes Redis clients ({ clients }), not a cluster client`);
  if (options.redis?.clients.length) return new ShardedKeyspace({ clients: options.redis.clients, prefix: config.prefix, onError });
  return new ShardedKeyspace({ urls: required(config.redisUrls, 'engine.redisUrls', kind), prefix: config.prefix, onError });
}

function clusterKeyspace(config: EngineConfig, options: EngineOptions): ClusterKeyspace {
  const onError = (error: Error, node: string) => options.onError?.(error, `redis-cluster ${node}`);
  if (options.redis && 'clients' in options.redis) throw new EngineConfigError('engine.kind "redis-cluster" takes a cluster client ({ cluster }), not Redis clients');
  if (options.redis) return new ClusterKeyspace({ cluster: options.redis.cluster, prefix: config.prefix, onError });
  return new ClusterKeyspace({ urls: required(config.redisUrls, 'engine.redisUrls', 'redis-cluster'), prefix: config.prefix, onError });
}

const ENGINES: Record<EngineKind, (config: EngineConfig, options: EngineOptions) => Engine> = {
  memory: () => new MemoryEngine(),
  redis(config, options) {
    const keyspace = shardedKeyspace(config, options, 'redis');
    const broker = new RedisBroker(keyspace);
    return new RedisEngine({ kind: 'redis', keyspace, broker, publisher: () => new RedisChannelPublisher(keyspace, 'PUBLISH', broker) });
  },
  'redis-cluster'(config, options) {
    const keyspace = clusterKeyspace(config, options);
    const broker = new RedisClusterBroker(keyspace);
    return new RedisEngine({ kind: 'redis-cluster', keyspace, broker, publisher: () => new RedisChannelPublisher(keyspace, 'SPUBLISH', broker) });
  },
  nats(config, options) {
    const servers = required(config.natsUrls, 'engine.natsUrls', 'nats');
    // NATS moves the messages; registry, presence, history and tickets need a store, which is Redis.
    const keyspace = shardedKeyspace(config, options, 'nats');
    const broker = new NatsBroker({ servers, prefix: config.prefix, onError: (error) => options.onError?.(error, 'nats') });
    // NATS and Redis cannot be one atomic step: the receiving node re-sequences.
    return new RedisEngine({ kind: 'nats', keyspace, broker, publisher: (history) => new AppendThenPublish(history, broker) });
  },
};

/**
 * Builds the engine `config.kind` names. Nothing connects until `engine.start`. `memory` needs no URLs; `redis` and
 * `redis-cluster` need `engine.redisUrls` (or `options.redis`); `nats` needs `engine.natsUrls` and `engine.redisUrls`
 * (or `options.redis`). A missing URL list throws `EngineConfigError` naming the key.
 */
export function createEngine(config: EngineConfig, options: EngineOptions = {}): Engine {
  const construct = ENGINES[config.kind];
  if (!construct) throw new EngineConfigError(`engine.kind "${String(config.kind)}" is not one of ${Object.keys(ENGINES).join(', ')}`);
  return construct(config, options);
}
