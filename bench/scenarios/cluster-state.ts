import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { readCpuMsOf } from '../metrics.js';
import { spawnProgram, stopChild } from '../processes.js';
import { freePort, waitForPort } from '../targets/server-process.js';
import { startNode, stopNode } from '../targets/wsgate.js';

export interface ClusterStatePlan {
  subscribers: number;
  channels: number;
  channelsPerSubscriber: number;
  publicationsPerSec: number;
  /** Channels a churning client subscribes to and leaves again per second (each one a channel index transition). */
  churnPerSec: number;
  durationMs: number;
}

export interface ClusterStateRun {
  variant: 'cluster.state on' | 'cluster.state off';
  deliveries: number;
  /** Server CPU (both nodes) per 1000 deliveries, milliseconds. */
  cpuMsPer1kDeliveries: number;
  /** Commands the engine's redis-server processed per second (every command of both nodes). */
  engineCommandsPerSec: number;
  redisCpuMs: number;
  /** Per second, the commands only the cluster state sends on this load (its MULTI per report, ZADD, PEXPIRE). */
  stateCommandsPerSec: Record<string, number>;
}

/** Commands the channel counts report with (the rest of the engine sends none of these on this load). */
const STATE_COMMANDS = ['multi', 'zadd', 'zrem', 'pexpire'];

const NAMESPACE = 'bench';

/** One anonymous protocol client; `request` resolves on the reply to its id. */
async function client(url: string): Promise<{ ws: WebSocket; request(frame: object): Promise<void>; close(): void }> {
  const ws = new WebSocket(`${url}/ws`, ['wsgate.v1.json']);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', function first(data) {
      if ((JSON.parse(String(data)) as { type: string }).type !== 'welcome') return;
      ws.off('message', first);
      resolve();
    });
  });
  let next = 0;
  const waiting = new Map<number, () => void>();
  ws.on('message', (data) => {
    // Publications (the bulk) carry no id: skip parsing them.
    const text = String(data);
    if (!text.includes('"id"')) return;
    const frame = JSON.parse(text) as { id?: number };
    if (frame.id !== undefined) {
      waiting.get(frame.id)?.();
      waiting.delete(frame.id);
    }
  });
  return {
    ws,
    request: (frame) => new Promise((resolve) => {
      const id = ++next;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ ...frame, id }));
    }),
    close: () => ws.close(),
  };
}

async function deliveriesOf(ports: number[]): Promise<number> {
  const texts = await Promise.all(ports.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));
  return texts.reduce((sum, text) => sum + Number(/^wsgate_deliveries_total (\S+)$/m.exec(text)?.[1] ?? 0), 0);
}

async function commandsOf(redis: Redis): Promise<{ total: number; byCommand: Record<string, number> }> {
  const [stats, commandStats] = await Promise.all([redis.info('stats'), redis.info('commandstats')]);
  const byCommand = Object.fromEntries(STATE_COMMANDS.map((name) => [name, Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(commandStats)?.[1] ?? 0)]));
  return { total: Number(/^total_commands_processed:(\d+)/m.exec(stats)?.[1] ?? NaN), byCommand };
}

/** Runs `perSec` calls of `step` per second for `durationMs` (10 ms ticks) and waits for them all. */
async function paced(perSec: number, durationMs: number, step: (n: number) => Promise<void>): Promise<void> {
  const start = Date.now();
  const pending: Array<Promise<void>> = [];
  let done = 0;
  while (Date.now() - start < durationMs) {
    const due = Math.floor(((Date.now() - start) / 1000) * perSec);
    for (; done < due; done++) pending.push(step(done));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(pending);
}

/**
 * What the cluster-wide state costs (lease records with stats, per-node channel counts): two wsgate nodes on their own
 * redis-server, subscribers on one, a publisher on the other (every delivery crosses the broker) and a client churning
 * through channels, once with `cluster.state` on and once off, the same load each time. Reports server CPU per delivery
 * and the engine's commands per second.
 */
export async function runClusterState(plan: ClusterStatePlan, log: (line: string) => void): Promise<ClusterStateRun[]> {
  const runs: ClusterStateRun[] = [];
  for (const state of [true, false]) {
    const variant = state ? 'cluster.state on' : 'cluster.state off';
    log(`cluster state: ${variant}`);
    const redisPort = await freePort();
    const redisServer = spawnProgram(`cluster-state-redis-${state}`, 'redis-server', ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no']);
    const clients: Array<Awaited<ReturnType<typeof client>>> = [];
    const nodes: Array<Awaited<ReturnType<typeof startNode>>> = [];
    let redis: Redis | undefined;
    try {
      await waitForPort(redisServer, redisPort, 10_000);
      redis = new Redis(redisPort, '127.0.0.1');
      const engine = { kind: 'redis' as const, redisUrls: [`redis://127.0.0.1:${redisPort}`] };
      for (const name of ['a', 'b']) {
        nodes.push(await startNode(`cluster-state-${state ? 'on' : 'off'}-${name}`, { pingIntervalMs: 25_000 }, engine, undefined, {
          cluster: { state }, limits: { maxSubscriptionsPerSession: 1_000 },
        }));
      }
      const [subscriberNode, publisherNode] = nodes.map((node) => `http://127.0.0.1:${node.port}`.replace('http', 'ws')) as [string, string];
      for (let i = 0; i < plan.subscribers; i++) {
        const subscriber = await client(subscriberNode);
        clients.push(subscriber);
        await Promise.all(Array.from({ length: plan.channelsPerSubscriber }, (_, k) =>
          subscriber.request({ type: 'subscribe', channel: `${NAMESPACE}:c${(i * plan.channelsPerSubscriber + k) % plan.channels}` })));
      }
      const publisher = await client(publisherNode);
      const churner = await client(subscriberNode);
      clients.push(publisher, churner);
      const load = (durationMs: number) => Promise.all([
        paced(plan.publicationsPerSec, durationMs, (n) => publisher.request({ type: 'publish', channel: `${NAMESPACE}:c${n % plan.channels}`, data: { n } })),
        paced(plan.churnPerSec, durationMs, async (n) => {
          await churner.request({ type: 'subscribe', channel: `${NAMESPACE}:churn${n}` });
          await churner.request({ type: 'unsubscribe', channel: `${NAMESPACE}:churn${n}` });
        }),
      ]);
      await load(2_000); // warm-up: JIT, connection pools
      const pids = nodes.map((node) => node.pid);
      const ports = nodes.map((node) => node.port);
      const [cpu0, deliveries0, commands0, redisCpu0] = [readCpuMsOf(pids), await deliveriesOf(ports), await commandsOf(redis), readCpuMsOf([redisServer.pid ?? 0])] as const;
      const start = Date.now();
      await load(plan.durationMs);
      const seconds = (Date.now() - start) / 1000;
      const deliveries = (await deliveriesOf(ports)) - deliveries0;
      const commands1 = await commandsOf(redis);
      runs.push({
        variant,
        deliveries,
        cpuMsPer1kDeliveries: ((readCpuMsOf(pids) - cpu0) / Math.max(1, deliveries)) * 1000,
        engineCommandsPerSec: (commands1.total - commands0.total) / seconds,
        stateCommandsPerSec: Object.fromEntries(STATE_COMMANDS.map((name) => [name, (commands1.byCommand[name]! - commands0.byCommand[name]!) / seconds])),
        redisCpuMs: readCpuMsOf([redisServer.pid ?? 0]) - redisCpu0,
      });
    } finally {
      for (const open of clients) open.close();
      await Promise.all(nodes.map(stopNode));
      redis?.disconnect();
      await stopChild(redisServer);
    }
  }
  return runs;
}

/** The two runs side by side, with what the state adds. */
export function printClusterState(runs: readonly ClusterStateRun[], plan: ClusterStatePlan, log: (line: string) => void): void {
  if (runs.length < 2) return;
  const [on, off] = runs as [ClusterStateRun, ClusterStateRun];
  log(`\ncluster-wide state (2 nodes on redis, ${plan.subscribers} subscribers × ${plan.channelsPerSubscriber} of ${plan.channels} channels, ` +
    `${plan.publicationsPerSec} publications/s, ${plan.churnPerSec} channel joins+leaves/s, ${plan.durationMs / 1000} s):`);
  log(`| variant | deliveries | server CPU ms / 1000 deliveries | engine commands/s | of which ${STATE_COMMANDS.join('/')} per s | redis CPU ms |`);
  log('| --- | --- | --- | --- | --- | --- |');
  for (const run of runs) {
    const state = STATE_COMMANDS.map((name) => run.stateCommandsPerSec[name]!.toFixed(1)).join(' / ');
    log(`| ${run.variant} | ${run.deliveries} | ${run.cpuMsPer1kDeliveries.toFixed(2)} | ${run.engineCommandsPerSec.toFixed(1)} | ${state} | ${run.redisCpuMs} |`);
  }
  log(`| on / off | | ${(on.cpuMsPer1kDeliveries / off.cpuMsPer1kDeliveries).toFixed(2)}x | ` +
    `${on.engineCommandsPerSec >= off.engineCommandsPerSec ? '+' : ''}${(on.engineCommandsPerSec - off.engineCommandsPerSec).toFixed(1)}/s ` +
    `(${(on.engineCommandsPerSec / off.engineCommandsPerSec).toFixed(2)}x) | | |`);
}
