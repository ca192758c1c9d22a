import { randomBytes } from 'node:crypto';
import { createEngine } from '../../../src/server/engine/create.js';
import type { Engine } from '../../../src/server/engine/engine.js';
import { dropKeys, uniquePrefix } from '../../support/prefix.js';
import { startNats, startRedis, startRedisCluster, type ServerProcess } from '../../support/servers.js';
import { startNode, type NodeConfig, type NodeProcess } from './node.js';

/** The engine part of a node's config (`engine.kind`, URLs); prefix and lease are added per cluster. */
export type EngineSection = Record<string, unknown> & { kind: string };

/** Shared servers (Redis, NATS, Redis Cluster) started for one test file; killed by `stop`. */
export interface EngineWorld {
  readonly engine: EngineSection;
  /** The Redis holding the stores, when it is one private redis-server (outage tests restart it). */
  readonly redis?: ServerProcess;
  /**
   * Kills one Redis instance the engine uses (by its PID) and starts it again on its port, empty: the single Redis,
   * the first shard, the first Redis Cluster master (it rejoins with its slots), the store under NATS.
   */
  restartRedis?(): Promise<void>;
  stop(): Promise<void>;
}

export interface EngineSetup {
  readonly name: string;
  start(): Promise<EngineWorld>;
}

async function stopAll(servers: Array<{ stop(): Promise<void> }>): Promise<void> {
  await Promise.all(servers.map((server) => server.stop().catch(() => {})));
}

/** The engine setups a cluster can run on; the end-to-end suite runs over all of them. */
export const ENGINE_SETUPS: readonly EngineSetup[] = [
  {
    name: 'redis',
    async start() {
      const redis = await startRedis();
      return { engine: { kind: 'redis', redisUrls: [redis.url] }, redis, restartRedis: () => redis.restart(), stop: () => stopAll([redis]) };
    },
  },
  {
    name: 'two redis shards',
    async start() {
      const shards = await Promise.all([startRedis(), startRedis()]);
      return { engine: { kind: 'redis', redisUrls: shards.map((shard) => shard.url) }, restartRedis: () => shards[0]!.restart(), stop: () => stopAll(shards) };
    },
  },
  {
    name: 'redis cluster (3 masters)',
    async start() {
      const cluster = await startRedisCluster();
      return { engine: { kind: 'redis-cluster', redisUrls: cluster.urls }, restartRedis: () => cluster.startNode(0), stop: () => stopAll([cluster]) };
    },
  },
  {
    name: 'nats broker + redis stores',
    async start() {
      const [nats, redis] = await Promise.all([startNats(), startRedis()]);
      return { engine: { kind: 'nats', natsUrls: [nats.url], redisUrls: [redis.url] }, redis, restartRedis: () => redis.restart(), stop: () => stopAll([nats, redis]) };
    },
  },
];

/** Namespaces every cluster test node has. */
export const NAMESPACES = {
  // Presence on: join/leave events travel through the broker too.
  chat: { presence: true, publish: true, history: { size: 50, ttlSeconds: 60 } },
  // No presence: the only broker traffic is the publications, so counters can be asserted exactly.
  feed: { publish: true, history: { size: 100, ttlSeconds: 60 } },
};

export interface ClusterOptions {
  nodes: number;
  leaseMs?: number;
  /** Extra config for every node (merged over the defaults at the top level). */
  config?: Record<string, unknown>;
  /** Every line a node writes to stdout (its log), with the node's id. */
  onLine?: (nodeId: string, line: string) => void;
  /** How long each node may take to listen and be ready (default: startNode's). */
  readyTimeoutMs?: number;
}

export interface Cluster {
  readonly nodes: NodeProcess[];
  readonly prefix: string;
  /** The engine config every node runs with (prefix and lease included). */
  readonly engineConfig: Record<string, unknown>;
  /** Kills every node that is still running, then removes the prefix's keys from the Redis stores (they may be shared). */
  stop(): Promise<void>;
}

/** Starts `nodes` gateway processes sharing `world` under a fresh prefix; node ids are `<label>-1`, `<label>-2`, ... */
export async function startCluster(world: EngineWorld, label: string, options: ClusterOptions): Promise<Cluster> {
  const prefix = uniquePrefix(label);
  const engineConfig = { ...world.engine, prefix, leaseMs: options.leaseMs ?? 3_000 };
  const tag = randomBytes(2).toString('hex');
  const nodes: NodeProcess[] = [];
  // Killed nodes leave their keys; a store that outlives the cluster (the machine's shared Redis) is cleared of them.
  const storeUrls = world.engine.kind === 'redis-cluster' ? [] : ((world.engine.redisUrls as string[] | undefined) ?? []);
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
    await Promise.all(storeUrls.map((url) => dropKeys(url, prefix)));
  };
  try {
    const started = await Promise.allSettled(
      Array.from({ length: options.nodes }, (_, index) => {
        const config: NodeConfig = {
          nodeId: `${label}-${tag}-${index + 1}`,
          namespaces: NAMESPACES,
          ws: { pingIntervalMs: 5_000, pingTimeoutMs: 5_000 },
          drain: { timeoutMs: 5_000, batchIntervalMs: 0, reconnectSpreadMs: 300 },
          ...options.config,
          engine: engineConfig,
        };
        return startNode(config, options.readyTimeoutMs, { onLine: options.onLine && ((line) => options.onLine!(config.nodeId, line)) });
      }),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, prefix, engineConfig, stop };
}

/**
 * An engine connected to the cluster's shared store from the test process, to read the registry and presence the
 * way the nodes see them (there is no HTTP route for them yet). It never heartbeats or registers sessions.
 */
export async function openObserver(cluster: Cluster): Promise<Engine> {
  const engine = await createEngine(cluster.engineConfig as Parameters<typeof createEngine>[0]);
  await engine.start(`observer-${randomBytes(4).toString('hex')}`, { onChannelMessage() {}, onInboxMessage() {} });
  return engine;
}
