import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { spawnProgram, stopChild } from '../processes.js';
import { freePort, startAnnouncingServer, waitForPort } from './server-process.js';
import type { BrokerCounters, RunningTarget, StartOptions, Target } from './target.js';

const serverModule = fileURLToPath(new URL('../servers/socketio-server.ts', import.meta.url));

/** Subscriber nodes; the publisher has a node of its own, as in the cross-node wsgate targets. */
const SUBSCRIBER_NODES = 2;

/**
 * Broker traffic of the Redis adapter, read from Redis itself: PUBLISH calls (`INFO commandstats`) and, per publish, one
 * message to every connection holding a pattern subscription (`CLIENT LIST` psub > 0): the adapter's broadcast channel
 * is pattern-subscribed by every node, whether it has members in the room or not.
 */
async function redisCounters(url: string): Promise<BrokerCounters> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const stats = (await redis.info('commandstats')) as string;
    const clients = (await redis.call('CLIENT', 'LIST')) as string;
    const sent = Number(/^cmdstat_publish:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
    const patternSubscribers = clients.split('\n').filter((line) => /\bpsub=[1-9]/.test(line)).length;
    return { sent, received: sent * patternSubscribers, source: `Redis PUBLISH calls x ${patternSubscribers} pattern subscribers` };
  } finally {
    redis.disconnect();
  }
}

/**
 * Cross-node peer: three Socket.IO nodes joined by @socket.io/redis-adapter on a redis-server the bench starts (no
 * persistence, loopback only). Subscribers alternate between two nodes; the publisher is on the third, so every delivery
 * crosses Redis. Server CPU is the three nodes; Redis CPU is reported apart.
 */
export const socketIoRedisTarget: Target = {
  name: 'socket.io+redis',
  kind: 'socketio',
  nodes: SUBSCRIBER_NODES + 1,
  async unavailableReason() {
    return spawnSync('redis-server', ['--version']).status === 0 ? undefined : 'redis-server not installed';
  },
  async start(options: StartOptions): Promise<RunningTarget> {
    const redisPort = await freePort();
    const redis = spawnProgram('redis', 'redis-server', [
      '--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no',
    ]);
    await waitForPort(redis, redisPort, 10_000);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const nodes = await Promise.all(
      Array.from({ length: SUBSCRIBER_NODES + 1 }, (_, i) =>
        startAnnouncingServer(`socketio-redis-${i}`, [serverModule, String(options.pingIntervalMs), redisUrl]),
      ),
    );
    const url = (port: number): string => `http://127.0.0.1:${port}`;
    return {
      urls: nodes.slice(0, SUBSCRIBER_NODES).map((node) => url(node.port)),
      publisherUrl: url(nodes[SUBSCRIBER_NODES]!.port),
      probeUrl: url(nodes[SUBSCRIBER_NODES - 1]!.port),
      serverPids: nodes.map((node) => node.pid),
      helperPids: redis.pid ? [redis.pid] : [],
      async memory() {
        const samples = await Promise.all(nodes.map((node) => node.memory()));
        return {
          rssBytes: samples.reduce((sum, s) => sum + s.rssBytes, 0),
          heapUsedBytes: samples.reduce((sum, s) => sum + s.heapUsedBytes, 0),
        };
      },
      brokerCounters: () => redisCounters(redisUrl),
      async stop() {
        await Promise.all(nodes.map((node) => node.stop()));
        await stopChild(redis);
      },
    };
  },
};
