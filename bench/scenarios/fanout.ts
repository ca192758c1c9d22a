import { execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, forkTs, nextMessage, stopChild } from '../processes.js';
import { readCpuMsOf, readCpuSplitMsOf, summarizeLatency, type LatencySummary } from '../metrics.js';
import type { ConnectSpec, PublishResult, PublisherCommand } from '../load/messages.js';
import type { RunningTarget, Target } from '../targets/target.js';
import { SubscriberFleet, type FleetReport } from './fleet.js';

const publisherModule = fileURLToPath(new URL('../load/publisher.ts', import.meta.url));

export const FANOUT_CHANNEL = 'bench:fanout';

export interface FanoutPlan {
  subscribers: number;
  /** Fixed offered rates, publications per second (deliveries per second = rate × subscribers). */
  ratesPerSec: number[];
  durationMs: number;
  /** Publications in flight in the saturation run (closed loop through the probe subscriber). */
  saturationWindow: number;
  sampleEvery: number;
}

export interface FanoutRun {
  target: string;
  subscribers: number;
  mode: 'rate' | 'saturation';
  /** Rate runs: `fixed` (the plan's rates, the same for every target) or `half-saturation` (50% of this target's
   * own measured saturation, the latency target's operating point). */
  rateKind?: 'fixed' | 'half-saturation';
  /** Offered publications per second (rate runs). */
  offeredPerSec?: number;
  /** Server processes whose CPU is summed (cross-node targets: every node). */
  nodes: number;
  /** Broker messages received by all nodes per publication (NaN when the target cannot tell). */
  brokerMessagesPerPublication: number;
  brokerSource?: string;
  published: number;
  expected: number;
  received: number;
  lost: number;
  deliveredPerSec: number;
  serverCpuMs: number;
  cpuUsPerMessage: number;
  /** The kernel's part of `cpuUsPerMessage` (system time): the floor that one socket write per delivery sets. */
  systemCpuUsPerMessage: number;
  /** Server CPU as a share of one core over the window (200% = both cores). */
  serverCpuPercent: number;
  loadCpuPercent: number;
  helperCpuPercent: number;
  latency: LatencySummary;
  /** Event-loop delay p99 / max (ms) over the window: of the worst load process, and (wsgate) of the worst node. */
  loadLoopDelayP99Ms: number;
  loadLoopDelayMaxMs: number;
  serverLoopDelayP99Ms?: number;
  serverLoopDelayMaxMs?: number;
  publishErrors: number;
  /** Subscribers the server closed during the run (slow-consumer evictions). */
  evicted: number;
  stalled: boolean;
}

function publisherCommand(publisher: ChildProcess, command: PublisherCommand): Promise<PublishResult> {
  const done = nextMessage(publisher, (m) => ((m as PublishResult).ev === 'done' ? (m as PublishResult) : undefined), 120_000, 'publisher');
  publisher.send(command);
  return done;
}

/** Poll the fleet until every expected delivery arrived, or nothing arrived for a while (that rest is loss). */
async function drain(fleet: SubscriberFleet, expected: number): Promise<FleetReport> {
  let report = await fleet.report();
  let unchangedSince = Date.now();
  while (report.received < expected && Date.now() - unchangedSince < 1500) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const next = await fleet.report();
    if (next.received !== report.received) unchangedSince = Date.now();
    report = next;
  }
  return report;
}

/** One measured window: reset counters, publish, drain, read CPU of server, helpers and load processes. */
async function measure(
  name: string,
  plan: FanoutPlan,
  running: RunningTarget,
  fleet: SubscriberFleet,
  publisher: ChildProcess,
  command: PublisherCommand,
  rateKind?: FanoutRun['rateKind'],
): Promise<FanoutRun> {
  await fleet.reset();
  const broker0 = await running.brokerCounters?.().catch(() => undefined);
  const loadPids = [...fleet.pids, publisher.pid ?? 0];
  const startMs = performance.now();
  // The server's user and system time read once per edge of the window: the total and its kernel part come from it.
  const server0 = readCpuSplitMsOf(running.serverPids);
  const cpu0 = [readCpuMsOf(running.helperPids), readCpuMsOf(loadPids)];
  const published = await publisherCommand(publisher, command);
  const expected = published.sent * plan.subscribers;
  const report = await drain(fleet, expected);
  const wallMs = performance.now() - startMs;
  const server1 = readCpuSplitMsOf(running.serverPids);
  const serverSystemCpuMs = server1.systemMs - server0.systemMs;
  const serverCpuMs = server1.userMs - server0.userMs + serverSystemCpuMs;
  const [helperCpuMs, loadCpuMs] = [readCpuMsOf(running.helperPids) - cpu0[0], readCpuMsOf(loadPids) - cpu0[1]];
  const broker1 = await running.brokerCounters?.().catch(() => undefined);
  const brokerMessagesPerPublication =
    broker0 && broker1 && published.sent > 0 ? (broker1.received - broker0.received) / published.sent : NaN;
  const deliverySeconds = report.lastReceiveUs > published.startUs ? (report.lastReceiveUs - published.startUs) / 1e6 : wallMs / 1000;
  return {
    target: name,
    subscribers: plan.subscribers,
    mode: command.cmd === 'rate' ? 'rate' : 'saturation',
    rateKind: command.cmd === 'rate' ? (rateKind ?? 'fixed') : undefined,
    offeredPerSec: command.cmd === 'rate' ? command.rate : undefined,
    nodes: running.serverPids.length,
    brokerMessagesPerPublication,
    brokerSource: broker1?.source,
    published: published.sent,
    expected,
    received: report.received,
    lost: Math.max(0, expected - report.received),
    deliveredPerSec: report.received / deliverySeconds,
    serverCpuMs,
    cpuUsPerMessage: report.received > 0 ? (serverCpuMs * 1000) / report.received : NaN,
    systemCpuUsPerMessage: report.received > 0 ? (serverSystemCpuMs * 1000) / report.received : NaN,
    serverCpuPercent: (serverCpuMs / wallMs) * 100,
    loadCpuPercent: (loadCpuMs / wallMs) * 100,
    helperCpuPercent: (helperCpuMs / wallMs) * 100,
    latency: summarizeLatency(report.latenciesUs),
    loadLoopDelayP99Ms: report.loopDelayP99Ms,
    loadLoopDelayMaxMs: report.loopDelayMaxMs,
    serverLoopDelayP99Ms: broker1?.loopDelayP99Ms,
    serverLoopDelayMaxMs: broker1?.loopDelayMaxMs,
    publishErrors: published.errors,
    evicted: report.closed,
    stalled: published.stalled,
  };
}

/** Fan-out on a freshly started target: N subscribers on one channel, fixed rates, then saturation. */
export async function runFanout(target: Target, running: RunningTarget, plan: FanoutPlan, log: (line: string) => void): Promise<FanoutRun[]> {
  const spec: ConnectSpec = { kind: target.kind, urls: running.urls, channel: FANOUT_CHANNEL, subscribe: true };
  const { fleet, connect } = await SubscriberFleet.connect(spec, plan.subscribers, plan.sampleEvery, 64);
  const publisher = forkTs(publisherModule);
  const runs: FanoutRun[] = [];
  try {
    if (connect.failed > 0) throw new Error(`${connect.failed} subscribers failed to connect: ${connect.firstError}`);
    const connected = nextMessage(
      publisher,
      (m) => (['connected', 'failed'].includes((m as { ev?: string }).ev ?? '') ? (m as { ev: string; error?: string }) : undefined),
      20_000,
      'publisher to connect',
    );
    // The publisher and its probe always use the first node, so on a cluster half the subscribers are remote.
    // A cross-node target names a publisher node without subscribers and puts the probe on a subscriber node.
    const publisherUrl = running.publisherUrl ?? running.urls[0]!;
    publisher.send({
      cmd: 'connect',
      spec: { ...spec, urls: [publisherUrl] },
      probeUrl: running.probeUrl ?? publisherUrl,
    } satisfies PublisherCommand);
    const outcome = await connected;
    if (outcome.ev === 'failed') throw new Error(`publisher could not connect: ${outcome.error}`);
    pinCpus(running, [...fleet.pids, publisher.pid ?? 0], log);
    // Warm-up, not reported: lets V8 optimise the server's hot path before anything is measured.
    await measure(target.name, plan, running, fleet, publisher, { cmd: 'rate', rate: plan.ratesPerSec[0], durationMs: 1000 });
    for (const rate of plan.ratesPerSec) {
      const run = await measure(target.name, plan, running, fleet, publisher, { cmd: 'rate', rate, durationMs: plan.durationMs });
      log(describe(run));
      runs.push(run);
    }
    const saturated = await measure(target.name, plan, running, fleet, publisher, {
      cmd: 'saturate',
      window: plan.saturationWindow,
      durationMs: plan.durationMs,
    });
    log(describe(saturated));
    runs.push(saturated);
    // 50% of this target's own saturation rate: where the p99 latency target is judged, and where coalescing starts.
    const half = Math.max(1, Math.round((0.5 * saturated.deliveredPerSec) / plan.subscribers));
    const halfRun = await measure(target.name, plan, running, fleet, publisher, { cmd: 'rate', rate: half, durationMs: plan.durationMs }, 'half-saturation');
    log(describe(halfRun));
    runs.push(halfRun);
  } finally {
    if (publisher.connected) publisher.send({ cmd: 'close' } satisfies PublisherCommand);
    await exited(publisher, 3000).then(() => stopChild(publisher));
    await fleet.close();
  }
  return runs;
}

/**
 * `WSGATE_BENCH_PIN="server:0 load:1"` (CPU lists as `taskset` takes them, e.g. `server:0,1`) pins the server
 * processes (all their threads) to the listed CPUs and the load processes to theirs, so the two stop competing for a
 * core; other work on the machine is not pinned.
 * Used to tell the server's own latency from the time subscribers wait for a CPU.
 */
function pinCpus(running: RunningTarget, loadPids: number[], log: (line: string) => void): void {
  const spec = process.env.WSGATE_BENCH_PIN;
  if (!spec) return;
  const cpus = Object.fromEntries(spec.split(/[;\s]+/).filter(Boolean).map((part) => part.split(':') as [string, string]));
  const pin = (list: string | undefined, pids: number[]): void => {
    if (!list) return;
    for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
  };
  pin(cpus.server, [...running.serverPids, ...running.helperPids]);
  pin(cpus.load, loadPids);
  log(`  pinned: server on CPU ${cpus.server ?? 'any'}, load on CPU ${cpus.load ?? 'any'}`);
}

function describe(run: FanoutRun): string {
  const what =
    run.mode === 'rate'
      ? `${run.offeredPerSec}/s x ${run.subscribers}${run.rateKind === 'half-saturation' ? ' (50% of saturation)' : ''}`
      : `saturation x ${run.subscribers}`;
  return (
    `  ${run.target} fan-out ${what}: ${Math.round(run.deliveredPerSec)} msg/s, ${run.cpuUsPerMessage.toFixed(2)} µs CPU/msg (kernel ${run.systemCpuUsPerMessage.toFixed(2)}), ` +
    `p50 ${run.latency.p50Ms.toFixed(2)} ms, p99 ${run.latency.p99Ms.toFixed(2)} ms, lost ${run.lost}, ` +
    `server ${run.serverCpuPercent.toFixed(0)}% load ${run.loadCpuPercent.toFixed(0)}%` +
    (Number.isFinite(run.brokerMessagesPerPublication) ? `, broker msgs/pub ${run.brokerMessagesPerPublication.toFixed(2)}` : '') +
    `, loop delay p99/max load ${run.loadLoopDelayP99Ms.toFixed(1)}/${run.loadLoopDelayMaxMs.toFixed(1)} ms` +
    (run.serverLoopDelayP99Ms !== undefined && Number.isFinite(run.serverLoopDelayP99Ms)
      ? ` server ${run.serverLoopDelayP99Ms.toFixed(1)}/${(run.serverLoopDelayMaxMs ?? NaN).toFixed(1)} ms`
      : '')
  );
}
