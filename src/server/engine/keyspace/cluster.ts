import { Cluster, type ClusterOptions, type Redis } from 'ioredis';
import { failUnansweredCommands } from './unanswered-commands.js';
import { redactUrl, reconnectDelay } from './connection.js';
import { taggedKey, type RedisErrorListener, type RedisKeyspace } from './keyspace.js';

export interface ClusterKeyspaceOptions {
  /** Seed nodes; the client discovers the rest of the cluster from them. */
  urls?: readonly string[];
  /**
   * The caller's own cluster client instead of `urls`; it needs `shardedSubscribers: true` for the broker. The caller
   * owns it: `close` leaves it open.
   */
  cluster?: Cluster;
  prefix: string;
  onError?: RedisErrorListener;
  clusterOptions?: ClusterOptions;
}

/**
 * Keys in a Redis Cluster. The routing tag is the key's hash tag, so one user's (one channel's, one node's) keys share
 * a slot and Lua scripts over them are atomic. The client also runs sharded pub/sub (`shardedSubscribers`).
 */
export class ClusterKeyspace implements RedisKeyspace {
  readonly prefix: string;
  readonly cluster: Cluster;
  private readonly injected: boolean;
  /** How errors name the cluster: its seed URLs without passwords. */
  private readonly seeds: readonly string[];
  private connecting: Promise<void> | null = null;

  constructor(private readonly options: ClusterKeyspaceOptions) {
    if (options.urls?.length && options.cluster) throw new Error('ClusterKeyspace takes urls or a cluster client, not both');
    this.prefix = options.prefix;
    this.injected = options.cluster !== undefined;
    if (options.cluster) {
      this.cluster = options.cluster;
      this.seeds = ['the Redis Cluster client passed in'];
    } else {
      if (!options.urls?.length) throw new Error('ClusterKeyspace needs at least one seed URL or a cluster client');
      this.cluster = createCluster(options.urls, options.clusterOptions);
      this.seeds = options.urls.map(redactUrl);
    }
    // Unhandled 'error' events would crash the node; node-level errors arrive as 'nodeError'.
    this.cluster.on('error', (error: Error) => options.onError?.(error, this.seeds.join(',')));
    this.cluster.on('nodeError', (error: Error, node: string) => options.onError?.(error, node));
  }

  key(tag: string, suffix: string): string {
    return taggedKey(this.prefix, tag, suffix);
  }

  client(): Cluster {
    return this.cluster;
  }

  /** Different tags hash to different slots: never one script. */
  sameServer(): boolean {
    return false;
  }

  clients(): readonly Cluster[] {
    return [this.cluster];
  }

  connect(): Promise<void> {
    this.connecting ??= (async () => {
      try {
        if (this.cluster.status === 'wait') await this.cluster.connect();
        else if (this.cluster.status !== 'ready') await new Promise<void>((resolve) => this.cluster.once('ready', resolve));
      } catch (error) {
        throw new Error(`cannot connect to Redis Cluster at ${this.seeds.join(', ')}: ${(error as Error).message}`, { cause: error });
      }
    })();
    return this.connecting;
  }

  isHealthy(): boolean {
    return this.cluster.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.injected || this.cluster.status === 'end') return;
    try {
      if (this.cluster.status === 'ready') await this.cluster.quit();
      else this.cluster.disconnect();
    } catch {
      this.cluster.disconnect();
    }
  }
}

/** A lazy cluster client with wsgate's defaults (sharded pub/sub, reconnect forever), credentials from the first URL. */
function createCluster(urls: readonly string[], clusterOptions: ClusterOptions | undefined): Cluster {
  const seeds = urls.map((url) => {
    const parsed = new URL(url);
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  const first = new URL(urls[0]!);
  const cluster = new Cluster(seeds, {
    lazyConnect: true,
    shardedSubscribers: true,
    clusterRetryStrategy: reconnectDelay,
    redisOptions: {
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      tls: first.protocol === 'rediss:' ? {} : undefined,
      maxRetriesPerRequest: 1,
      // Never run a command twice because its reply was lost with the connection (see failUnansweredCommands).
      autoResendUnfulfilledCommands: false,
    },
    ...clusterOptions,
  });
  cluster.on('+node', (node: Redis) => failUnansweredCommands(node));
  return cluster;
}
