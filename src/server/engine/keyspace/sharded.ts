import type { Redis, RedisOptions } from 'ioredis';
import { closeClient, connectClient, createRedisClient, redactUrl } from './connection.js';
import { shardOf } from './jump-hash.js';
import { taggedKey, type RedisErrorListener, type RedisKeyspace } from './keyspace.js';

export interface ShardedKeyspaceOptions {
  /** One URL per Redis instance; the order matters (it is the shard number), so every node must list the same URLs. */
  urls?: readonly string[];
  /**
   * The caller's own connections instead of `urls`, one per instance in shard order (the same order on every node).
   * The caller owns them: `close` leaves them open. Pub/sub connections are made with `duplicate()` and closed here.
   */
  clients?: readonly Redis[];
  prefix: string;
  onError?: RedisErrorListener;
  /** Extra ioredis options for the connections made from `urls` (tests shorten retry delays). */
  redisOptions?: RedisOptions;
}

/**
 * Keys spread over independent Redis instances by jump consistent hash of their routing tag. With one URL this is
 * simply "one Redis". Operations on one tag are on one instance, so per-user and per-channel atomicity holds; nothing
 * spans instances atomically.
 */
export class ShardedKeyspace implements RedisKeyspace {
  readonly prefix: string;
  /** Per shard, the address it is named by in errors (passwords left out for injected clients). */
  readonly urls: readonly string[];
  private readonly shards: readonly Redis[];
  private readonly injected: boolean;
  private connecting: Promise<void> | null = null;

  constructor(private readonly options: ShardedKeyspaceOptions) {
    if (options.urls?.length && options.clients?.length) throw new Error('ShardedKeyspace takes urls or clients, not both');
    this.prefix = options.prefix;
    this.injected = Boolean(options.clients?.length);
    if (options.clients?.length) {
      this.shards = options.clients;
      this.urls = options.clients.map((client) => `redis://${client.options.host ?? 'localhost'}:${client.options.port ?? 6379}`);
      // The caller's clients may have no 'error' listener; without one an outage would crash the process.
      options.clients.forEach((client, index) => client.on('error', (error: Error) => options.onError?.(error, this.urls[index]!)));
    } else {
      if (!options.urls?.length) throw new Error('ShardedKeyspace needs at least one Redis URL or client');
      this.urls = options.urls;
      this.shards = options.urls.map((url) => createRedisClient(url, options));
    }
  }

  key(tag: string, suffix: string): string {
    return taggedKey(this.prefix, tag, suffix);
  }

  /** The shard number of `tag`; pub/sub uses it to pick the instance a channel lives on. */
  shardOf(tag: string): number {
    return shardOf(tag, this.shards.length);
  }

  client(tag: string): Redis {
    return this.shards[this.shardOf(tag)]!;
  }

  sameServer(tags: readonly string[]): boolean {
    if (this.shards.length === 1) return true;
    const shard = this.shardOf(tags[0]!);
    return tags.every((tag) => this.shardOf(tag) === shard);
  }

  clients(): readonly Redis[] {
    return this.shards;
  }

  /** A new connection to shard `index` with the same options, for pub/sub (a subscribed connection runs no commands). */
  duplicate(index: number, overrides: RedisOptions = {}): Redis {
    if (!this.injected) return createRedisClient(this.urls[index]!, this.options, overrides);
    const client = this.shards[index]!.duplicate({ lazyConnect: true, ...overrides });
    client.on('error', (error: Error) => this.options.onError?.(error, redactUrl(this.urls[index]!)));
    return client;
  }

  connect(): Promise<void> {
    this.connecting ??= Promise.all(this.shards.map((shard, index) => connectClient(shard, this.urls[index]!))).then(() => undefined);
    return this.connecting;
  }

  isHealthy(): boolean {
    return this.shards.every((shard) => shard.status === 'ready');
  }

  async close(): Promise<void> {
    if (this.injected) return;
    await Promise.all(this.shards.map((shard) => closeClient(shard)));
  }
}
