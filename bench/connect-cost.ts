/**
 * Server CPU per ticketed connect (`POST /api/tickets` with the API key, the handshake with `?ticket=`, the `welcome`)
 * of several builds, each in turn on a fresh node, the order reversed every round, with the median per build: a
 * before/after of a few percent needs more than one run on a shared machine.
 *
 *   node --import tsx bench/connect-cost.ts --builds .tmp/before/dist/cli/main.js,dist/cli/main.js [--rounds 3]
 *     [--connects 3000] [--engine memory|redis]
 *
 * `--engine redis`: each node on a redis-server of its own (one node, one Redis). CPU is the node's user + system time
 * over the measured connects (after 300 to warm up), 32 in flight, the sessions held open until the build's turn ends.
 */
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { DEFAULT_SUBPROTOCOL } from '../src/protocol/subprotocol.js';
import { readCpuMs } from './metrics.js';
import { spawnProgram, stopChild } from './processes.js';
import { freePort, waitForPort } from './targets/server-process.js';
import { API_KEY, startNode, stopNode, type EngineConfig } from './targets/wsgate.js';

const { values } = parseArgs({
  options: {
    builds: { type: 'string', default: 'dist/cli/main.js' },
    rounds: { type: 'string', default: '3' },
    connects: { type: 'string', default: '3000' },
    engine: { type: 'string', default: 'memory' },
  },
});
const builds = values.builds.split(',');
const connects = Number(values.connects);
const WARM_UP = 300;
const IN_FLIGHT = 32;
if (values.engine !== 'memory' && values.engine !== 'redis') throw new Error(`--engine is memory or redis, not ${values.engine}`);

async function inFlight(count: number, open: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < count) await open(next++);
  }));
}

/** A Redis of the node's own, so no build inherits another's keys. */
async function startRedis(): Promise<{ engine: EngineConfig; redis: ChildProcess }> {
  const port = await freePort();
  const redis = spawnProgram('connect-cost-redis', 'redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no']);
  await waitForPort(redis, port, 10_000);
  return { engine: { kind: 'redis', redisUrls: [`redis://127.0.0.1:${port}`] }, redis };
}

/** Server CPU µs per connect of one build on a fresh node. */
async function measure(build: string, round: number): Promise<number> {
  const store = values.engine === 'redis' ? await startRedis() : { engine: { kind: 'memory' } as EngineConfig, redis: undefined };
  const node = await startNode(`connect-cost-${round}`, { pingIntervalMs: 5000 }, store.engine, build);
  const base = `127.0.0.1:${node.port}`;
  const sockets: WebSocket[] = [];
  const connect = async (index: number): Promise<void> => {
    const response = await fetch(`http://${base}/api/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: `user-${round}-${index}` }),
    });
    if (!response.ok) throw new Error(`POST /api/tickets: HTTP ${response.status}`);
    const { ticket } = (await response.json()) as { ticket: string };
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://${base}/ws?ticket=${ticket}`, DEFAULT_SUBPROTOCOL);
      sockets.push(ws);
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
  };
  try {
    await inFlight(WARM_UP, connect);
    const cpu0 = readCpuMs(node.pid);
    await inFlight(connects, (index) => connect(WARM_UP + index));
    return ((readCpuMs(node.pid) - cpu0) * 1000) / connects;
  } finally {
    for (const ws of sockets) ws.terminate();
    await stopNode(node);
    if (store.redis) await stopChild(store.redis);
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const results = new Map<string, number[]>(builds.map((build) => [build, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const us = await measure(build, round);
      results.get(build)!.push(us);
      console.log(`round ${round + 1}, ${build}: ${us.toFixed(0)} µs CPU/connect`);
    }
  }
  console.log(`\nServer CPU per ticketed connect (${values.engine} engine, ${connects} connects per turn), median of ${values.rounds} rounds:`);
  const first = median(results.get(builds[0]!)!);
  for (const [build, runs] of results) {
    const us = median(runs);
    console.log(`  ${build}: ${us.toFixed(0)} µs (${(us / first).toFixed(2)}x the first) [${runs.map((run) => run.toFixed(0)).join(', ')}]`);
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
