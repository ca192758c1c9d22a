import { failUnansweredCommands } from './unanswered-commands.js';
import { Redis, type RedisOptions } from 'ioredis';
import { shardOf } from './jump-hash.js';
import { taggedKey, type RedisErrorListener, type RedisKeyspace } from './keyspace.js';

export interface ShardedKeyspaceOptions {
  /** One URL per Redis instance; the order matters (it is the shard number), so every node must list the same URLs. */
  urls: readonly string[];
  prefix: string;
  onError?: RedisErrorListener;
  /** Extra ioredis options (tests shorten retry delays). */
  redisOptions?: RedisOptions;
}

/** Reconnect quickly at first, then every 2 s at most, forever: a gateway waits for its store to come back. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000);
}

/**
 * Keys spread over independent Redis instances by jump consistent hash of their routing tag. With one URL this is
 * simply "one Redis". Operations on one tag are on one instance, so per-user and per-channel atomicity holds; nothing
 * spans instances atomically.
 */
export class ShardedKeyspace implements RedisKeyspace {
  readonly prefix: string;
  readonly urls: readonly string[];
  private readonly shards: Redis[];
  private connecting: Promise<void> | null = null;

  constructor(private readonly options: ShardedKeyspaceOptions) {
    if (options.urls.length === 0) throw new Error('ShardedKeyspace needs at least one Redis URL');
    this.prefix = options.prefix;
    this.urls = options.urls;
    this.shards = options.urls.map((url) => createRedisClient(url, options));
  }

  key(tag: string, suffix: string): string {
    return taggedKey(this.prefix, tag, suffix);
  }

  /** The shard number of `tag`; pub/sub uses it to pick the instance a channel lives on. */
  shardOf(tag: string): number {
    return shardOf(tag, this.shards.length);
  }

  client(tag: string): Redis {
    return this.shards[this.shardOf(tag)];
  }

  clients(): readonly Redis[] {
    return this.shards;
  }

  /** A new connection to shard `index` with the same options, for pub/sub (a subscribed connection runs no commands). */
  duplicate(index: number, overrides: RedisOptions = {}): Redis {
    return createRedisClient(this.urls[index], this.options, overrides);
  }

  connect(): Promise<void> {
    this.connecting ??= Promise.all(this.shards.map((shard, index) => connectClient(shard, this.urls[index]))).then(() => undefined);
    return this.connecting;
  }

  isHealthy(): boolean {
    return this.shards.every((shard) => shard.status === 'ready');
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((shard) => closeClient(shard)));
  }
}

export function createRedisClient(url: string, options: Pick<ShardedKeyspaceOptions, 'onError' | 'redisOptions'>, overrides: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    // Fail fast while disconnected: the gateway answers an error (or degrades to local delivery) instead of
    // queueing work that would burst out, stale, after the outage.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Never run a command twice because its reply was lost with the connection (see failUnansweredCommands).
    autoResendUnfulfilledCommands: false,
    retryStrategy: reconnectDelay,
    // ioredis waits this long for a socket that never opened to close before destroying it; keep shutdown quick.
    disconnectTimeout: 200,
    ...options.redisOptions,
    ...overrides,
  });
  failUnansweredCommands(client);
  // An unhandled 'error' event would crash the process; connection errors are expected during outages.
  client.on('error', (error: Error) => options.onError?.(error, redactUrl(url)));
  return client;
}

/** Connects a lazy client; a client that is already connecting or connected is awaited until ready. */
export async function connectClient(client: Redis, url: string): Promise<void> {
  try {
    if (client.status === 'wait') await client.connect();
    else if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', resolve));
  } catch (error) {
    throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
}

export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

/** URLs may carry passwords; errors and logs show them without. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
