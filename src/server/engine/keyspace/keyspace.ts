import type { Cluster, Redis } from 'ioredis';

/** A command connection: one Redis instance, or a Redis Cluster client that routes by slot. */
export type RedisClient = Redis | Cluster;

/**
 * Where the keys of the shared store live. Stores ask for the client that holds a routing tag (see `RoutingTag`)
 * and build key names with `key`, never caring whether there is one Redis, several, or a cluster.
 */
export interface RedisKeyspace {
  readonly prefix: string;
  /** `<prefix>:{<tag>}:<suffix>`: the braces make `tag` the Redis Cluster hash tag. */
  key(tag: string, suffix: string): string;
  /** The command client holding keys tagged `tag`. Every key of one tag is on this client (same shard, same slot). */
  client(tag: string): RedisClient;
  /**
   * True when the keys of all these tags live on one server, where one script may touch them all: one shard of
   * several Redis instances. False in a Redis Cluster, where a script's keys must share a slot.
   */
  sameServer(tags: readonly string[]): boolean;
  /** Every distinct command client, for operations that span the keyspace. */
  clients(): readonly RedisClient[];
  /** Connects every client; resolves when all are ready, rejects naming the URL that failed. Idempotent. */
  connect(): Promise<void>;
  /** True while every command connection is ready. */
  isHealthy(): boolean;
  close(): Promise<void>;
}

/** Builds the key name of `tag` + `suffix`; shared by every keyspace so key layouts never diverge. */
export function taggedKey(prefix: string, tag: string, suffix: string): string {
  return `${prefix}:{${tag}}:${suffix}`;
}

/** Called with every connection error (they are otherwise swallowed so a node never crashes on them). */
export type RedisErrorListener = (error: Error, url: string) => void;
