import { failUnansweredCommands } from './unanswered-commands.js';
import { Cluster, type ClusterOptions, type Redis } from 'ioredis';
import { redactUrl, reconnectDelay } from './sharded.js';
import { taggedKey, type RedisErrorListener, type RedisKeyspace } from './keyspace.js';

export interface ClusterKeyspaceOptions {
  /** Seed nodes; the client discovers the rest of the cluster from them. */
  urls: readonly string[];
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
  private connecting: Promise<void> | null = null;

  constructor(private readonly options: ClusterKeyspaceOptions) {
    if (options.urls.length === 0) throw new Error('ClusterKeyspace needs at least one seed URL');
    this.prefix = options.prefix;
    const seeds = options.urls.map((url) => {
      const parsed = new URL(url);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    const first = new URL(options.urls[0]);
    this.cluster = new Cluster(seeds, {
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
      ...options.clusterOptions,
    });
    this.cluster.on('+node', (node: Redis) => failUnansweredCommands(node));
    // Unhandled 'error' events would crash the node; node-level errors arrive as 'nodeError'.
    this.cluster.on('error', (error: Error) => options.onError?.(error, redactUrl(options.urls.join(','))));
    this.cluster.on('nodeError', (error: Error, node: string) => options.onError?.(error, node));
  }

  key(tag: string, suffix: string): string {
    return taggedKey(this.prefix, tag, suffix);
  }

  client(): Cluster {
    return this.cluster;
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
        throw new Error(`cannot connect to Redis Cluster at ${this.options.urls.map(redactUrl).join(', ')}: ${(error as Error).message}`, { cause: error });
      }
    })();
    return this.connecting;
  }

  isHealthy(): boolean {
    return this.cluster.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.cluster.status === 'end') return;
    try {
      if (this.cluster.status === 'ready') await this.cluster.quit();
      else this.cluster.disconnect();
    } catch {
      this.cluster.disconnect();
    }
  }
}
