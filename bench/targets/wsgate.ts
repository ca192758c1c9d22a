import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { logDir, repoRoot, spawnProgram, stopChild } from '../processes.js';
import { freePort, startPortServer, waitForPort, type ServerProcess } from './server-process.js';
import type { BrokerCounters, RunningTarget, StartOptions, Target } from './target.js';

/** The built CLI; WSGATE_BENCH_CLI points the bench at another build (a branch, a release) to compare. */
const cli = process.env.WSGATE_BENCH_CLI ?? join(repoRoot, 'dist/cli/main.js');

/**
 * Extra Node flags for every wsgate server process, e.g. `WSGATE_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`.
 * Space-separated. A profiled server is given time to write its profile when the bench stops it.
 */
const extraNodeFlags = (process.env.WSGATE_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const stopGraceMs = extraNodeFlags.some((flag) => flag.startsWith('--cpu-prof') || flag.startsWith('--heap-prof')) ? 20_000 : 5_000;

/**
 * Extra wsgate configuration merged into every node's config, as JSON, e.g. `WSGATE_BENCH_CONFIG='{"ws":{"flushDelayMs":2}}'`:
 * compares settings in one run without editing the bench.
 */
const extraConfig = JSON.parse(process.env.WSGATE_BENCH_CONFIG ?? '{}') as Record<string, unknown>;

/** Only ever used against the bench's own loopback server. */
export const API_KEY = 'bench-api-key-0123456789abcdef';

export type EngineConfig = { kind: 'memory' } | { kind: 'redis'; redisUrls: string[] } | { kind: 'nats'; redisUrls: string[]; natsUrls: string[] };

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/**
 * Configuration for the run (keys per src/server/config/schema.ts). Anonymous sessions for fan-out; tickets for the
 * connect test. Limits that would throttle a load test (publish rate of the single publisher) are raised; everything
 * else keeps the defaults a deployment gets, including the send queue bound. The drain is short so a stopped node exits
 * (and writes its CPU profile) within the bench's grace period.
 */
function benchConfig(port: number, options: StartOptions, engine: EngineConfig, extra: Record<string, unknown>): Record<string, unknown> {
  const generous = { rate: 1_000_000, burst: 1_000_000 };
  return merge(
    {
      port,
      host: '127.0.0.1',
      allowedOrigins: ['*'],
      apiKeys: [API_KEY],
      // Per-connection info logs would be charged to the server's CPU; warnings still reach the log file.
      log: { level: 'warn' },
      auth: { anonymous: true, tickets: { ttlSeconds: 300 } },
      ws: { pingIntervalMs: options.pingIntervalMs },
      namespaces: { bench: { publish: true } },
      limits: {
        rate: { publish: generous, subscribe: generous, send: generous, action: generous },
      },
      engine,
      drain: { timeoutMs: 3000, batchIntervalMs: 0, reconnectSpreadMs: 0, batchSize: 5000 },
    },
    extra,
  );
}

export async function startNode(
  name: string,
  options: StartOptions,
  engine: EngineConfig,
  cliPath = cli,
  extra: Record<string, unknown> = extraConfig,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const configFile = join(logDir, `${name}-${port}.yaml`);
  writeFileSync(configFile, stringify(benchConfig(port, options, engine, extra)));
  return startPortServer(name, [...extraNodeFlags, cliPath, 'serve', '--config', configFile], port, { ...env, WSGATE_PORT: String(port) });
}

/** One wsgate node (memory engine) of the built CLI or `cliPath`, with the bench's config plus `extra`, and `env` added (`OTEL_*`). */
export function startWsgateNode(name: string, options: StartOptions, extra: Record<string, unknown>, env: Record<string, string>, cliPath = cli): Promise<ServerProcess> {
  return startNode(name, options, { kind: 'memory' }, cliPath, merge(extraConfig, extra), env);
}

export const stopNode = (node: ServerProcess): Promise<void> => stopChild(node.child, stopGraceMs);

/** `wsgate_broker_publications_total{direction="sent"|"received"}` of one node's `GET /metrics`. */
async function nodeBrokerCounters(
  port: number,
): Promise<{ sent: number; received: number; loopP99: number; loopMax: number } | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  const read = (direction: string): number | undefined => {
    const match = new RegExp(`^wsgate_broker_publications_total\\{direction="${direction}"\\} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const sent = read('sent');
  const received = read('received');
  const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  const loopP99 = gauge('wsgate_process_nodejs_eventloop_lag_p99_seconds');
  const loopMax = gauge('wsgate_process_nodejs_eventloop_lag_max_seconds');
  return sent === undefined || received === undefined ? undefined : { sent, received, loopP99, loopMax };
}

async function sumBrokerCounters(nodes: ServerProcess[]): Promise<BrokerCounters> {
  const counters = await Promise.all(nodes.map((node) => nodeBrokerCounters(node.port)));
  if (counters.some((c) => c === undefined)) return { sent: NaN, received: NaN, source: 'wsgate_broker_publications_total missing from /metrics' };
  return {
    sent: counters.reduce((sum, c) => sum + c!.sent, 0),
    received: counters.reduce((sum, c) => sum + c!.received, 0),
    source: 'wsgate_broker_publications_total (GET /metrics of every node)',
    loopDelayP99Ms: Math.max(...counters.map((c) => c!.loopP99)),
    loopDelayMaxMs: Math.max(...counters.map((c) => c!.loopMax)),
  };
}

/** The gateway itself, as `wsgate serve` runs it, single node, memory engine. */
function singleNodeTarget(name: string, cliPath: string, config: Record<string, unknown>): Target {
  return {
    name,
    kind: 'wsgate',
    nodes: 1,
    ticketApiKey: API_KEY,
    unavailableReason: async () => (existsSync(cliPath) ? undefined : `not available: ${cliPath} missing (run npm run build)`),
    async start(options: StartOptions): Promise<RunningTarget> {
      const server = await startNode(name, options, { kind: 'memory' }, cliPath, config);
      return {
        urls: [`ws://127.0.0.1:${server.port}`],
        serverPids: [server.pid],
        helperPids: [],
        memory: () => server.memory(),
        brokerCounters: () => sumBrokerCounters([server]),
        stop: () => stopNode(server),
      };
    },
  };
}

export const wsgateTarget = singleNodeTarget('wsgate', cli, extraConfig);

/**
 * A second single-node wsgate in the same run, for before/after comparisons under the same machine conditions:
 * `WSGATE_BENCH_COMPARE_CLI=/path/to/dist/cli/main.js` (another build) and/or `WSGATE_BENCH_COMPARE_CONFIG='{...}'`
 * (other settings). Runs as target `wsgate-b`, right after `wsgate`.
 */
export const wsgateCompareTarget: Target | undefined =
  process.env.WSGATE_BENCH_COMPARE_CLI || process.env.WSGATE_BENCH_COMPARE_CONFIG
    ? singleNodeTarget(
        'wsgate-b',
        process.env.WSGATE_BENCH_COMPARE_CLI ?? cli,
        JSON.parse(process.env.WSGATE_BENCH_COMPARE_CONFIG ?? process.env.WSGATE_BENCH_CONFIG ?? '{}') as Record<string, unknown>,
      )
    : undefined;

/** Subscriber nodes of a cross-node run; the publisher has a node of its own. */
const SUBSCRIBER_NODES = 2;

/**
 * wsgate across three nodes on a shared engine: subscribers alternate between two nodes, the publisher (a client of the
 * third node, which has no subscribers) publishes through the broker, so every delivery crosses it. The probe
 * subscriber sits on the last subscriber node. Server CPU is the three nodes; redis-server/nats-server CPU is reported apart.
 */
export function wsgateClusterTarget(
  broker: 'redis' | 'nats',
  name = `wsgate+${broker}`,
  cliPath = cli,
  extra: Record<string, unknown> = extraConfig,
): Target {
  return {
    name,
    kind: 'wsgate',
    nodes: SUBSCRIBER_NODES + 1,
    ticketApiKey: API_KEY,
    async unavailableReason() {
      if (!existsSync(cliPath)) return `not available: ${cliPath} missing (run npm run build)`;
      for (const program of broker === 'nats' ? ['redis-server', 'nats-server'] : ['redis-server']) {
        if (spawnSync(program, ['--version']).status !== 0) return `${program} not installed`;
      }
      return undefined;
    },
    async start(options: StartOptions): Promise<RunningTarget> {
      const helpers: ChildProcess[] = [];
      const stopHelpers = async (): Promise<void> => {
        for (const helper of helpers) await stopChild(helper);
      };
      const nodes: ServerProcess[] = [];
      try {
        const redisPort = await freePort();
        const redis = spawnProgram(`${broker}-redis`, 'redis-server', [
          '--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no',
        ]);
        helpers.push(redis);
        await waitForPort(redis, redisPort, 10_000);
        const redisUrls = [`redis://127.0.0.1:${redisPort}`];
        let engine: EngineConfig = { kind: 'redis', redisUrls };
        if (broker === 'nats') {
          const natsPort = await freePort();
          const nats = spawnProgram('nats', 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)]);
          helpers.push(nats);
          await waitForPort(nats, natsPort, 10_000);
          engine = { kind: 'nats', redisUrls, natsUrls: [`nats://127.0.0.1:${natsPort}`] };
        }
        for (let i = 0; i <= SUBSCRIBER_NODES; i++) nodes.push(await startNode(`${name}-${i}`, options, engine, cliPath, extra));
      } catch (error) {
        await Promise.all(nodes.map(stopNode));
        await stopHelpers();
        throw error;
      }
      const url = (node: ServerProcess): string => `ws://127.0.0.1:${node.port}`;
      const subscriberNodes = nodes.slice(0, SUBSCRIBER_NODES);
      return {
        urls: subscriberNodes.map(url),
        publisherUrl: url(nodes[SUBSCRIBER_NODES]!),
        probeUrl: url(subscriberNodes[SUBSCRIBER_NODES - 1]!),
        serverPids: nodes.map((node) => node.pid),
        helperPids: helpers.map((helper) => helper.pid ?? 0),
        async memory() {
          const samples = await Promise.all(nodes.map((node) => node.memory()));
          return {
            rssBytes: samples.reduce((sum, s) => sum + s.rssBytes, 0),
            heapUsedBytes: samples.reduce((sum, s) => sum + s.heapUsedBytes, 0),
          };
        },
        brokerCounters: () => sumBrokerCounters(nodes),
        async stop() {
          await Promise.all(nodes.map(stopNode));
          await stopHelpers();
        },
      };
    },
  };
}

export const wsgateRedisTarget = wsgateClusterTarget('redis');
/**
 * The `WSGATE_BENCH_COMPARE_CLI` build as three nodes on their own Redis (target `wsgate-b+redis`), with the same
 * settings, for before/after comparisons of cross-node costs in one run (`--targets wsgate+redis,wsgate-b+redis`).
 */
export const wsgateCompareRedisTarget: Target | undefined = process.env.WSGATE_BENCH_COMPARE_CLI
  ? wsgateClusterTarget('redis', 'wsgate-b+redis', process.env.WSGATE_BENCH_COMPARE_CLI)
  : undefined;
export const wsgateNatsTarget = wsgateClusterTarget('nats');
