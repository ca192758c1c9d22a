import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnProgram, stopChild } from '../processes.js';
import { freePort, startAnnouncingServer, waitForPort } from './server-process.js';
import type { RunningTarget, StartOptions, Target } from './target.js';

const serverModule = fileURLToPath(new URL('../servers/socketio-server.ts', import.meta.url));

/**
 * Cross-node peer: two Socket.IO nodes joined by @socket.io/redis-adapter on a redis-server the bench starts (no
 * persistence, loopback only). Subscribers alternate between the nodes; the publisher is on the first, so half the
 * deliveries cross Redis. Server CPU is both nodes; Redis CPU is reported apart.
 */
export const socketIoRedisTarget: Target = {
  name: 'socket.io+redis',
  kind: 'socketio',
  nodes: 2,
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
      [0, 1].map((i) => startAnnouncingServer(`socketio-redis-${i}`, [serverModule, String(options.pingIntervalMs), redisUrl])),
    );
    return {
      urls: nodes.map((node) => `http://127.0.0.1:${node.port}`),
      serverPids: nodes.map((node) => node.pid),
      helperPids: redis.pid ? [redis.pid] : [],
      async memory() {
        const samples = await Promise.all(nodes.map((node) => node.memory()));
        return {
          rssBytes: samples.reduce((sum, s) => sum + s.rssBytes, 0),
          heapUsedBytes: samples.reduce((sum, s) => sum + s.heapUsedBytes, 0),
        };
      },
      async stop() {
        await Promise.all(nodes.map((node) => node.stop()));
        await stopChild(redis);
      },
    };
  },
};
