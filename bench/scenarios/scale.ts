/**
 * Many idle wsgate sessions on one box: `nodes` gateway processes on a private Redis behind HAProxy, sessions spread over
 * load processes, each with a ticket. Measures handshakes/s, memory per connection (nodes, HAProxy, Redis), then
 * SIGKILLs the node holding the most sessions and times how they come back on the other nodes through HAProxy, counts
 * every refused attempt, and waits for the registry to forget the dead node.
 *
 * Every process here has the machine's 20,000 open files: a node holds one per session, HAProxy two per proxied
 * session, so there are several HAProxies (at most MAX_PER_BALANCER sessions each) and session i goes through HAProxy
 * i mod their number; a load process holds one file per session and one per attempt in flight (MAX_PER_LOAD each); and
 * the nodes are enough for the survivors to hold everything after one dies.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../../deploy/haproxy/render-config.mjs';
import { Redis } from 'ioredis';
import { ENGINE_SETUPS, openObserver, startCluster, type Cluster } from '../../test/cluster/support/cluster.js';
import { startHaproxy, type Balancer } from '../../test/cluster/support/haproxy.js';
import { API_KEY } from '../../test/cluster/support/node.js';
import { exited, forkTs, logDir, nextMessage, stopChild } from '../processes.js';
import { monotonicUs, readCpuMsOf, readRssBytes } from '../metrics.js';
import type { ConnectSpec, ScaleCommand, ScaleConnected, ScaleReport } from '../load/messages.js';

const workerModule = fileURLToPath(new URL('../load/scale-worker.ts', import.meta.url));

/** Sessions per HAProxy: 2 file descriptors each, with room under the 20,000 limit for the storm's attempts. */
export const MAX_PER_BALANCER = 8000;
/** Sessions per load process: 1 file descriptor each, plus one per attempt in flight in a storm. */
export const MAX_PER_LOAD = 12_500;
/** Largest share of the open-file limit a node may need after the kill. */
const FILE_LIMIT = 20_000;

export interface ScalePlan {
  connections: number;
  nodes: number;
  loadProcesses: number;
  /** HAProxy instances, each in front of every node. */
  balancers: number;
  /** `engine.leaseMs` of every node: the registry must be clean of the dead node within 1.5 leases. */
  leaseMs: number;
  /** Handshakes in flight per load process. */
  concurrency: number;
  /** Held this long after connecting before memory is read (a ping round at the default 25 s is not awaited). */
  holdMs: number;
  /** Gives up on the storm after this long. */
  stormTimeoutMs: number;
  /** Scheduling priority (nice) of the load processes. */
  loadNice: number;
  /** The nodes' `limits.maxHandshakes`; undefined: the node's default. */
  maxHandshakes?: number;
  /**
   * Whether every HAProxy connects to the nodes from 127.0.0.1 (`--shared-source`) instead of an address of its own
   * (127.0.1.<n>), as HAProxies on separate hosts would. From one address, Linux gives connect() the ephemeral ports
   * of one destination: past about half of them in use (the even ones, which it tries first), every connect scans the
   * used ones (docs/deployment.md, "Ports between HAProxy and the nodes").
   */
  sharedSource: boolean;
}

export function scalePlan(options: { connections?: string; nodes?: string; loadProcesses?: string; leaseMs?: string; maxHandshakes?: string; sharedSource?: boolean }): ScalePlan {
  const connections = Number(options.connections ?? 100_000);
  const loadProcesses = Number(options.loadProcesses ?? Math.max(2, Math.ceil(connections / MAX_PER_LOAD)));
  // The survivors of one kill hold every session, with room for Redis connections, logs and the listener.
  const nodes = Number(options.nodes ?? Math.max(6, Math.ceil(connections / (FILE_LIMIT * 0.9)) + 1));
  if (![connections, loadProcesses, nodes].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--connections, --nodes and --load-processes take positive integers');
  if (nodes < 2) throw new Error('--nodes must be at least 2: one is killed');
  if (connections / loadProcesses > MAX_PER_LOAD) throw new Error(`at most ${MAX_PER_LOAD} sessions per load process (its open files): use --load-processes ${Math.ceil(connections / MAX_PER_LOAD)} or more`);
  const maxHandshakes = options.maxHandshakes === undefined ? undefined : Number(options.maxHandshakes);
  if (maxHandshakes !== undefined && !(Number.isInteger(maxHandshakes) && maxHandshakes >= 0)) throw new Error('--max-handshakes takes an integer >= 0');
  const balancers = Math.ceil(connections / MAX_PER_BALANCER);
  return {
    connections, nodes, loadProcesses, balancers, leaseMs: Number(options.leaseMs ?? 5000), concurrency: 32, holdMs: 3000, stormTimeoutMs: 180_000,
    loadNice: Number(process.env.WSGATE_BENCH_LOAD_NICE ?? 0), maxHandshakes, sharedSource: options.sharedSource ?? false,
  };
}

export interface ScaleRun {
  plan: ScalePlan;
  opened: number;
  connectMs: number;
  handshakesPerSec: number;
  /** Server CPU per session opened (ticket + handshake + registry), summed over nodes; HAProxy and Redis apart. */
  nodeCpuUsPerHandshake: number;
  haproxyCpuUsPerHandshake: number;
  redisCpuUsPerHandshake: number;
  /** Memory added per open session: node RSS (all nodes), HAProxy RSS (all instances), Redis `used_memory`. */
  nodeRssBytesPerConnection: number;
  haproxyRssBytesPerConnection: number;
  redisBytesPerSession: number;
  loadRssBytesPerConnection: number;
  /** CPU of the load processes per session opened (tickets, handshakes, pings): what the harness takes from the nodes. */
  loadCpuUsPerHandshake: number;
  /** The sums behind the per-session figures, before connecting and once every session is open. */
  nodeRssBytes: { before: number; after: number };
  haproxyRssBytes: { before: number; after: number };
  /** Failed attempts while connecting, by reason. */
  connectFailures: Record<string, number>;
  sessionsByNode: Record<string, number>;
  /** HAProxy's logged answers and cuts over the whole run, by status and termination state. */
  haproxyTerminations: Record<string, number>;
  storm?: StormRun;
}

export interface StormRun {
  killedNode: string;
  /** Sessions on the killed node when it died. */
  sessions: number;
  /** Of those, welcomed by another node within the storm. */
  back: number;
  /** From SIGKILL to 50%, 99% and 100% of them welcomed by another node (NaN if never). */
  p50Ms: number;
  p99Ms: number;
  allMs: number;
  /** Failed attempts during the storm, by reason (ticket, handshake, TCP). */
  failures: Record<string, number>;
  /** Sessions the storm dropped besides the killed node's (should be 0). */
  otherDrops: number;
  /** From SIGKILL until the registry held no session of the dead node and listed it no longer (NaN: not within the wait). */
  registryCleanMs: number;
  registryLeft: number;
  sessionsByNode: Record<string, number>;
  /** How the dropped sessions ended, as the load saw it (`close 4002`: the node's ping timeout; `tcp ...`: no close frame). */
  dropReasons: Record<string, number>;
  /** Sessions the surviving nodes closed meanwhile, by close code name (`wsgate_disconnects_total`). */
  nodeDisconnects: Record<string, number>;
  /** Handshakes the surviving nodes refused meanwhile, by reason (`wsgate_handshake_failures_total`). */
  nodeHandshakeFailures: Record<string, number>;
  /** Worst event-loop lag of any surviving node and of any load process over the storm, ms. */
  nodeLoopLagMaxMs: number;
  loadLoopDelayMaxMs: number;
  /** Summed over the HAProxies: UP→DOWN transitions of the surviving nodes, retries and redispatches. */
  survivorsMarkedDown: number;
  /** The same in the server API's backend (its servers leave it on one refused or timed-out connection). */
  survivorsMarkedDownForApi: number;
  haproxyRetries: number;
  haproxyRedispatches: number;
  /** Requests HAProxy answered or cut itself in the storm, by status and termination state (`503 sQ--`: shed by the
   * server API's queue after `timeout queue`; `502 SH--`: the node closed before answering), summed over HAProxies. */
  haproxyTerminations: Record<string, number>;
  /** Attempts (ticket + handshake) the load made in the storm, and the CPU each part of the box spent until it ended. */
  attempts: number;
  stormMs: number;
  cpuMs: { nodes: number; haproxy: number; redis: number; load: number };
  /** Load processes at the end of the storm: RSS and V8 heap in use, summed. */
  loadRssBytes: number;
  loadHeapUsedBytes: number;
}

const PROGRESS_EVERY_MS = 20_000;

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
const max = (values: number[]): number => values.reduce((most, value) => Math.max(most, value), 0);

function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
  return into;
}

function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) if (value - (before[key] ?? 0) > 0) out[key] = value - (before[key] ?? 0);
  return out;
}

class ScaleFleet {
  constructor(private readonly workers: ChildProcess[]) {}

  get pids(): number[] {
    return this.workers.map((worker) => worker.pid ?? 0);
  }

  private ask<T>(worker: ChildProcess, command: ScaleCommand, ev: string, timeoutMs: number): Promise<T> {
    const reply = nextMessage(worker, (m) => ((m as { ev?: string }).ev === ev ? (m as T) : undefined), timeoutMs, `scale worker ${command.cmd}`);
    worker.send(command);
    return reply;
  }

  connect(spec: ConnectSpec, plan: ScalePlan): Promise<ScaleConnected[]> {
    const per = Math.ceil(plan.connections / this.workers.length);
    return Promise.all(
      this.workers.map((worker, i) => {
        // Every load process knows every HAProxy; session i uses the one at i mod their number.
        const count = Math.max(0, Math.min(per, plan.connections - i * per));
        return this.ask<ScaleConnected>(worker, { cmd: 'connect', spec, count, firstIndex: i * per, concurrency: plan.concurrency }, 'connected', 30 * 60_000);
      }),
    );
  }

  /** Generous: with the whole machine busy reconnecting, a load process may take long to get to its IPC channel. */
  async report(command: ScaleCommand = { cmd: 'report' }): Promise<ScaleReport & { rssBytes: number }> {
    const reports = await Promise.all(this.workers.map((worker) => this.ask<ScaleReport>(worker, command, 'report', 300_000)));
    const merged = (pick: (report: ScaleReport) => Record<string, number>): Record<string, number> => reports.reduce((all, r) => addCounts(all, pick(r)), {});
    return {
      ev: 'report',
      byNode: merged((r) => r.byNode),
      failures: merged((r) => r.failures),
      drops: sum(reports.map((r) => r.drops)),
      dropReasons: merged((r) => r.dropReasons),
      attempts: sum(reports.map((r) => r.attempts)),
      watched: sum(reports.map((r) => r.watched)),
      backAtUs: reports.flatMap((r) => r.backAtUs),
      cpuMs: sum(reports.map((r) => r.cpuMs)),
      heapUsedBytes: sum(reports.map((r) => r.heapUsedBytes)),
      loopDelayP99Ms: max(reports.map((r) => r.loopDelayP99Ms)),
      loopDelayMaxMs: max(reports.map((r) => r.loopDelayMaxMs)),
      rssBytes: sum(this.pids.map(readRssBytes)),
    };
  }

  async close(): Promise<void> {
    for (const worker of this.workers) if (worker.connected) worker.send({ cmd: 'close' } satisfies ScaleCommand);
    await Promise.all(this.workers.map((worker) => exited(worker, 5000).then(() => stopChild(worker))));
  }
}

async function redisInfo(url: string): Promise<{ usedMemory: number; cpuMs: number }> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = (await redis.info()) as string;
    const field = (name: string): number => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1] ?? NaN);
    return { usedMemory: field('used_memory'), cpuMs: (field('used_cpu_sys') + field('used_cpu_user')) * 1000 };
  } finally {
    redis.disconnect();
  }
}

interface NodeCounters {
  disconnects: Record<string, number>;
  handshakeFailures: Record<string, number>;
  /** Largest event-loop lag since the previous scrape (prom-client resets it on each), ms. */
  loopLagMaxMs: number;
}

/** A node's own account from `/metrics`; empty when the node does not answer (busy, or dead). */
async function nodeCounters(httpUrl: string): Promise<NodeCounters> {
  const out: NodeCounters = { disconnects: {}, handshakeFailures: {}, loopLagMaxMs: 0 };
  const text = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(30_000) }).then((response) => response.text()).catch(() => '');
  for (const [, name, label, value] of text.matchAll(/^(wsgate_disconnects_total|wsgate_handshake_failures_total)\{reason="([^"]*)"\} (\S+)$/gm)) {
    (name === 'wsgate_disconnects_total' ? out.disconnects : out.handshakeFailures)[label!] = Number(value);
  }
  out.loopLagMaxMs = Number(/^wsgate_process_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1] ?? 0) * 1000;
  return out;
}

async function nodesCounters(nodes: ReadonlyArray<{ httpUrl: string }>): Promise<NodeCounters> {
  const all = await Promise.all(nodes.map((node) => nodeCounters(node.httpUrl)));
  return {
    disconnects: all.reduce((into, c) => addCounts(into, c.disconnects), {}),
    handshakeFailures: all.reduce((into, c) => addCounts(into, c.handshakeFailures), {}),
    loopLagMaxMs: max(all.map((c) => c.loopLagMaxMs)),
  };
}

/** HAProxy's stats summed over the balancers: each server's UP→DOWN transitions (`chkdown`), retries, redispatches. */
async function balancerCounters(balancers: Balancer[]): Promise<{ downs: Record<string, number>; apiDowns: Record<string, number>; retries: number; redispatches: number }> {
  const out = { downs: {} as Record<string, number>, apiDowns: {} as Record<string, number>, retries: 0, redispatches: 0 };
  const none = { wsgate_nodes: {}, wsgate_api: {} };
  for (const stats of await Promise.all(balancers.map((balancer) => balancer.backendStats().catch(() => none)))) {
    for (const [server, row] of Object.entries(stats.wsgate_nodes)) {
      out.downs[server] = (out.downs[server] ?? 0) + Number(row.chkdown || 0);
      out.retries += Number(row.wretr || 0);
      out.redispatches += Number(row.wredis || 0);
    }
    for (const [server, row] of Object.entries(stats.wsgate_api)) out.apiDowns[server] = (out.apiDowns[server] ?? 0) + Number(row.chkdown || 0);
  }
  return out;
}

const quantileMs = (sortedMs: number[], total: number, q: number): number => {
  const needed = Math.ceil(q * total);
  return needed > 0 && sortedMs.length >= needed ? sortedMs[needed - 1]! : NaN;
};

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; resolves with whether it did. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return false;
}

interface Pids {
  nodes: number[];
  haproxy: number[];
  redisUrl: string;
}

async function storm(cluster: Cluster, fleet: ScaleFleet, balancers: Balancer[], pids: Pids, plan: ScalePlan, log: (line: string) => void): Promise<StormRun> {
  const before = await fleet.report();
  const [killedNode] = Object.entries(before.byNode).sort((a, b) => b[1] - a[1])[0]!;
  const victim = cluster.nodes.find((node) => node.nodeId === killedNode)!;
  const survivors = cluster.nodes.filter((node) => node !== victim);
  const survivorPids = survivors.map((node) => node.pid);
  const observer = await openObserver(cluster);
  try {
    const [nodes0, balancers0] = [await nodesCounters(survivors), await balancerCounters(balancers)];
    const terminations = (): Record<string, number> => balancers.reduce((all, balancer) => addCounts(all, balancer.terminations()), {});
    const terminations0 = terminations();
    const watch = await fleet.report({ cmd: 'watch', node: killedNode });
    const watched = watch.watched;
    log(`  scale: SIGKILL ${killedNode} holding ${watched} sessions`);
    const cpu0 = { nodes: readCpuMsOf(survivorPids), haproxy: readCpuMsOf(pids.haproxy), redis: (await redisInfo(pids.redisUrl)).cpuMs, load: watch.cpuMs };
    const killedAtUs = monotonicUs();
    await victim.kill('SIGKILL');
    let registryCleanMs = NaN;
    const registry = until(
      async () => {
        const [left, live] = await Promise.all([observer.registry.getNodeSessions(killedNode), observer.registry.liveNodes()]);
        if (left.length > 0 || live.some((node) => node.node === killedNode)) return false;
        registryCleanMs = (monotonicUs() - killedAtUs) / 1000;
        return true;
      },
      plan.leaseMs * 3,
      100,
    );
    let report = before;
    let loggedAt = Date.now();
    await until(
      async () => {
        report = await fleet.report();
        if (Date.now() - loggedAt >= PROGRESS_EVERY_MS) {
          loggedAt = Date.now();
          log(`  scale: ${report.backAtUs.length} of ${watched} back after ${((monotonicUs() - killedAtUs) / 1e6).toFixed(1)} s; failed attempts ${counts(diffCounts(report.failures, before.failures))}`);
        }
        return report.backAtUs.length >= watched;
      },
      plan.stormTimeoutMs,
      250,
    );
    const stormMs = (monotonicUs() - killedAtUs) / 1000;
    const cpuMs = {
      nodes: readCpuMsOf(survivorPids) - cpu0.nodes,
      haproxy: readCpuMsOf(pids.haproxy) - cpu0.haproxy,
      redis: (await redisInfo(pids.redisUrl)).cpuMs - cpu0.redis,
      load: report.cpuMs - cpu0.load,
    };
    await registry;
    const registryLeft = (await observer.registry.getNodeSessions(killedNode)).length;
    const backMs = report.backAtUs.map((us) => (us - killedAtUs) / 1000).sort((a, b) => a - b);
    const [nodes1, balancers1] = [await nodesCounters(survivors), await balancerCounters(balancers)];
    const victimServer = balancers[0]!.serverOf(victim);
    return {
      killedNode,
      sessions: watched,
      back: backMs.length,
      p50Ms: quantileMs(backMs, watched, 0.5),
      p99Ms: quantileMs(backMs, watched, 0.99),
      allMs: quantileMs(backMs, watched, 1),
      failures: diffCounts(report.failures, before.failures),
      otherDrops: report.drops - before.drops - watched,
      registryCleanMs,
      registryLeft,
      sessionsByNode: report.byNode,
      dropReasons: diffCounts(report.dropReasons, before.dropReasons),
      nodeDisconnects: diffCounts(nodes1.disconnects, nodes0.disconnects),
      nodeHandshakeFailures: diffCounts(nodes1.handshakeFailures, nodes0.handshakeFailures),
      nodeLoopLagMaxMs: nodes1.loopLagMaxMs,
      loadLoopDelayMaxMs: report.loopDelayMaxMs,
      survivorsMarkedDown: sum(Object.entries(diffCounts(balancers1.downs, balancers0.downs)).filter(([server]) => server !== victimServer).map(([, n]) => n)),
      survivorsMarkedDownForApi: sum(Object.entries(diffCounts(balancers1.apiDowns, balancers0.apiDowns)).filter(([server]) => server !== victimServer).map(([, n]) => n)),
      haproxyRetries: balancers1.retries - balancers0.retries,
      haproxyRedispatches: balancers1.redispatches - balancers0.redispatches,
      haproxyTerminations: diffCounts(terminations(), terminations0),
      attempts: report.attempts - before.attempts,
      stormMs,
      cpuMs,
      loadRssBytes: report.rssBytes,
      loadHeapUsedBytes: report.heapUsedBytes,
    };
  } finally {
    await observer.close().catch(() => {});
  }
}

export async function runScale(plan: ScalePlan, log: (line: string) => void): Promise<ScaleRun> {
  log(`scale: ${plan.connections} sessions, ${plan.nodes} nodes on Redis, ${plan.loadProcesses} load processes, ${plan.balancers} HAProxies`);
  const world = await ENGINE_SETUPS.find((setup) => setup.name === 'redis')!.start();
  const closers: Array<() => Promise<unknown>> = [() => world.stop()];
  try {
    const cluster = await startCluster(world, 'scale', {
      nodes: plan.nodes,
      leaseMs: plan.leaseMs,
      readyTimeoutMs: 60_000,
      // Deployment defaults (ping every 25 s, no per-IP limits: every session arrives from HAProxy's address).
      config: { ws: {}, namespaces: {}, ...(plan.maxHandshakes === undefined ? {} : { limits: { maxHandshakes: plan.maxHandshakes } }) },
    });
    closers.unshift(() => cluster.stop());
    const perBalancer = Math.ceil(plan.connections / plan.balancers);
    const balancers: Balancer[] = [];
    closers.unshift(() => Promise.all(balancers.map((balancer) => balancer.stop())));
    for (let i = 0; i < plan.balancers; i++) {
      // The shipped template and check interval. Room for the storm's attempts (a ticket and a handshake each) above
      // the sessions held; one thread (13 HAProxies share 2 cores) and no log line per connection.
      // The server API's per-node bound is the shipped one's (64) shared among the HAProxies, as if one were in front.
      const apiMaxconn = Math.max(4, Math.ceil(DEFAULTS.apiMaxconn / plan.balancers));
      const source = plan.sharedSource ? undefined : `127.0.1.${i + 1}`;
      // Every error line kept for haproxy-N.log (a storm that goes well logs a few thousand over all HAProxies).
      balancers.push(await startHaproxy(cluster.nodes, '2s', { maxconn: Math.ceil(perBalancer * 1.15) + 200, nbthread: 1, logNormal: false, apiMaxconn, source, logLines: 250_000 }));
    }
    // WSGATE_BENCH_LOAD_FLAGS: Node flags of the load processes (`--cpu-prof --cpu-prof-dir=...` to profile the harness).
    const loadFlags = (process.env.WSGATE_BENCH_LOAD_FLAGS ?? '').split(' ').filter(Boolean);
    const workers = Array.from({ length: plan.loadProcesses }, () => forkTs(workerModule, [], loadFlags));
    // WSGATE_BENCH_LOAD_NICE: the load's scheduling priority. 0 by default: at nice 10 (the load taking only what the
    // servers leave) the starved load sent its requests too late (HAProxy 408) and the 100,000 storm did no better.
    for (const worker of workers) setPriority(worker.pid!, plan.loadNice);
    const fleet = new ScaleFleet(workers);
    closers.unshift(() => fleet.close());

    const nodePids = cluster.nodes.map((node) => node.pid);
    const haproxyPids = balancers.map((balancer) => balancer.pid);
    const redisUrl = world.redis!.url;
    const rss = (pids: number[]): number => sum(pids.map(readRssBytes));
    const [nodeRss0, haproxyRss0, loadRss0, redis0] = [rss(nodePids), rss(haproxyPids), rss(fleet.pids), await redisInfo(redisUrl)];
    const cpu0 = [readCpuMsOf(nodePids), readCpuMsOf(haproxyPids), readCpuMsOf(fleet.pids)];

    const spec: ConnectSpec = {
      kind: 'wsgate',
      urls: balancers.map((balancer) => `ws://127.0.0.1:${balancer.port}`),
      channel: '',
      subscribe: false,
      ticketApiKey: API_KEY,
    };
    const connecting = fleet.connect(spec, plan);
    let connectDone = false;
    void connecting.finally(() => (connectDone = true));
    // Progress while connecting: sessions open so far and failed attempts, from the load processes.
    void (async () => {
      while (!connectDone) {
        await new Promise((resolve) => setTimeout(resolve, PROGRESS_EVERY_MS));
        if (connectDone) break;
        const progress = await fleet.report().catch(() => undefined);
        if (progress && !connectDone) log(`  scale: ${sum(Object.values(progress.byNode))} sessions open; failed attempts ${counts(progress.failures)}`);
      }
    })();
    const connected = await connecting;
    const opened = sum(connected.map((c) => c.opened));
    const connectMs = Math.max(...connected.map((c) => c.elapsedMs));
    const [nodeCpu, haproxyCpu, loadCpu, redis1] = [readCpuMsOf(nodePids) - cpu0[0]!, readCpuMsOf(haproxyPids) - cpu0[1]!, readCpuMsOf(fleet.pids) - cpu0[2]!, await redisInfo(redisUrl)];
    log(`  scale: ${opened} sessions open in ${(connectMs / 1000).toFixed(1)} s (${Math.round(opened / (connectMs / 1000))} handshakes/s with tickets)`);
    await new Promise((resolve) => setTimeout(resolve, plan.holdMs));
    const held = await fleet.report();
    const [nodeRss1, haproxyRss1, redis2] = [rss(nodePids), rss(haproxyPids), await redisInfo(redisUrl)];
    const run: ScaleRun = {
      plan,
      opened,
      connectMs,
      handshakesPerSec: opened / (connectMs / 1000),
      nodeCpuUsPerHandshake: (nodeCpu * 1000) / opened,
      haproxyCpuUsPerHandshake: (haproxyCpu * 1000) / opened,
      redisCpuUsPerHandshake: ((redis1.cpuMs - redis0.cpuMs) * 1000) / opened,
      nodeRssBytesPerConnection: (nodeRss1 - nodeRss0) / opened,
      haproxyRssBytesPerConnection: (haproxyRss1 - haproxyRss0) / opened,
      redisBytesPerSession: (redis2.usedMemory - redis0.usedMemory) / opened,
      loadRssBytesPerConnection: (held.rssBytes - loadRss0) / opened,
      loadCpuUsPerHandshake: (loadCpu * 1000) / opened,
      nodeRssBytes: { before: nodeRss0, after: nodeRss1 },
      haproxyRssBytes: { before: haproxyRss0, after: haproxyRss1 },
      connectFailures: held.failures,
      sessionsByNode: held.byNode,
      haproxyTerminations: {},
    };
    log(
      `  scale: RSS per session ${(run.nodeRssBytesPerConnection / 1024).toFixed(1)} KiB on the nodes, ` +
        `${(run.haproxyRssBytesPerConnection / 1024).toFixed(1)} KiB on HAProxy, Redis ${(run.redisBytesPerSession / 1024).toFixed(2)} KiB; ` +
        `by node ${JSON.stringify(held.byNode)}`,
    );
    run.storm = await storm(cluster, fleet, balancers, { nodes: nodePids, haproxy: haproxyPids, redisUrl }, plan, log);
    run.haproxyTerminations = balancers.reduce((all, balancer) => addCounts(all, balancer.terminations()), {});
    // What HAProxy logged (errors, timeouts and refusals only: the last lines of each), next to the nodes' logs.
    balancers.forEach((balancer, i) => writeFileSync(join(logDir, `haproxy-${i + 1}.log`), balancer.output()));
    return run;
  } finally {
    for (const close of closers) await close().catch(() => {});
  }
}

const counts = (record: Record<string, number>): string => (Object.keys(record).length === 0 ? 'none' : Object.entries(record).map(([k, v]) => `${k}: ${v}`).join(', '));
const ms = (value: number): string => (Number.isFinite(value) ? `${Math.round(value).toLocaleString('en-US')} ms` : 'never');

export function printScale(run: ScaleRun | undefined, log: (line: string) => void): void {
  if (!run) return;
  const { plan, storm: s } = run;
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  log(`\nScale: ${plan.connections.toLocaleString('en-US')} sessions with tickets, ${plan.nodes} wsgate nodes on one Redis, ${plan.loadProcesses} load processes (nice ${plan.loadNice}) through ${plan.balancers} HAProxies, lease ${plan.leaseMs} ms, limits.maxHandshakes ${plan.maxHandshakes ?? 'default'}, ${plan.sharedSource ? 'every HAProxy connecting from 127.0.0.1' : 'each HAProxy connecting from an address of its own'}`);
  log(`  open:              ${run.opened.toLocaleString('en-US')} in ${(run.connectMs / 1000).toFixed(1)} s = ${Math.round(run.handshakesPerSec).toLocaleString('en-US')} handshakes/s (ticket + upgrade + welcome, ${plan.concurrency} in flight per load process)`);
  log(`  CPU per handshake: nodes ${run.nodeCpuUsPerHandshake.toFixed(0)} µs, HAProxy ${run.haproxyCpuUsPerHandshake.toFixed(0)} µs, Redis ${run.redisCpuUsPerHandshake.toFixed(0)} µs, load ${run.loadCpuUsPerHandshake.toFixed(0)} µs`);
  log(`  memory per session: nodes ${kib(run.nodeRssBytesPerConnection)} RSS, HAProxy ${kib(run.haproxyRssBytesPerConnection)} RSS, Redis ${kib(run.redisBytesPerSession)}, load ${kib(run.loadRssBytesPerConnection)}`);
  log(`  sessions by node:  ${counts(run.sessionsByNode)}`);
  log(`  failed attempts while connecting: ${counts(run.connectFailures)}; HAProxy's own answers and cuts over the run: ${counts(run.haproxyTerminations)}`);
  if (!s) return;
  log(`  storm: SIGKILL ${s.killedNode} with ${s.sessions.toLocaleString('en-US')} sessions; back on other nodes: ${s.back.toLocaleString('en-US')}, 50% after ${ms(s.p50Ms)}, 99% after ${ms(s.p99Ms)}, all after ${ms(s.allMs)}`);
  log(`  storm: ${s.attempts.toLocaleString('en-US')} attempts; failed ${counts(s.failures)}; other sessions dropped: ${s.otherDrops}`);
  log(`  storm: drops as the load saw them ${counts(s.dropReasons)}; closed by the surviving nodes ${counts(s.nodeDisconnects)}; handshakes they refused ${counts(s.nodeHandshakeFailures)}`);
  log(`  storm: HAProxy's own answers and cuts: ${counts(s.haproxyTerminations)}`);
  log(`  storm: worst event-loop lag: nodes ${Math.round(s.nodeLoopLagMaxMs)} ms, load ${Math.round(s.loadLoopDelayMaxMs)} ms; HAProxy marked a surviving node down ${s.survivorsMarkedDown} times (in the server API's backend ${s.survivorsMarkedDownForApi}), ${s.haproxyRetries} retries, ${s.haproxyRedispatches} redispatches`);
  const perBack = (cpuMs: number): string => `${Math.round((cpuMs * 1000) / Math.max(1, s.back)).toLocaleString('en-US')} µs`;
  log(`  storm: ${(s.stormMs / 1000).toFixed(1)} s, CPU ${((s.cpuMs.nodes + s.cpuMs.haproxy + s.cpuMs.redis + s.cpuMs.load) / 1000).toFixed(1)} s (nodes ${(s.cpuMs.nodes / 1000).toFixed(1)}, HAProxy ${(s.cpuMs.haproxy / 1000).toFixed(1)}, Redis ${(s.cpuMs.redis / 1000).toFixed(1)}, load ${(s.cpuMs.load / 1000).toFixed(1)}); per session back: nodes ${perBack(s.cpuMs.nodes)}, HAProxy ${perBack(s.cpuMs.haproxy)}, Redis ${perBack(s.cpuMs.redis)}, load ${perBack(s.cpuMs.load)}`);
  log(`  storm: load processes at the end ${(s.loadRssBytes / 2 ** 20).toFixed(0)} MB RSS, ${(s.loadHeapUsedBytes / 2 ** 20).toFixed(0)} MB heap in use`);
  log(`  storm: registry clean of ${s.killedNode} after ${ms(s.registryCleanMs)} (limit 1.5 x lease = ${ms(plan.leaseMs * 1.5)}), ${s.registryLeft} sessions left`);
  log(`  storm: sessions by node after: ${counts(s.sessionsByNode)}`);
  // Refused: an HTTP answer other than 200/101 (a limit, a node or HAProxy saying no). The rest are transport errors,
  // e.g. a request that reached the killed node's accept queue as it died (HAProxy cannot resend a POST). The one
  // documented limit is the server API's queue in HAProxy: a ticket request that waited `timeout queue` gets 503 (its
  // log line says `sQ--`), and the client retries with backoff. The other is the nodes' bound on handshakes in
  // progress (`limits.maxHandshakes`): 503 NODE_BUSY with Retry-After before the ticket is taken, and the client
  // retries after it.
  const all = addCounts({ ...run.connectFailures }, s.failures);
  const refused = sum(Object.entries(all).filter(([reason]) => / HTTP \d+( [A-Z_]+)?$/.test(reason)).map(([, n]) => n));
  const queueShed = Math.min(all['ticket HTTP 503'] ?? 0, run.haproxyTerminations['503 sQ--'] ?? 0);
  const busyShed = all['handshake: HTTP 503 NODE_BUSY'] ?? 0;
  const shed = queueShed + busyShed;
  const verdict = (met: boolean): string => (met ? 'yes' : 'NO');
  log(`  checks: every session opened: ${verdict(run.opened === plan.connections)}; refused beyond the documented limit = 0: ${verdict(refused - shed === 0)} (${refused - shed}; documented shedding: by the server API's queue ${queueShed}, by the nodes' handshake bound ${busyShed}; transport errors ${sum(Object.values(all)) - refused}); ` +
    `99% back: ${verdict(Number.isFinite(s.p99Ms))}; no other session dropped: ${verdict(s.otherDrops === 0)}; ` +
    `registry clean within 1.5 x lease: ${verdict(s.registryCleanMs <= plan.leaseMs * 1.5 && s.registryLeft === 0)}`);
}
