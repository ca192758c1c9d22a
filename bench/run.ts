/**
 * wsgate benchmark suite: `npm run bench [-- --full] [-- --targets ws,socket.io] [-- --scenarios fanout,idle,tracing,cluster-state,publications]`.
 * `npm run bench -- --scenarios scale [--connections 100000] [--nodes 7] [--load-processes 8] [--lease-ms 5000] [--max-handshakes 64] [--shared-source]`: many
 * ticketed sessions over several nodes on Redis behind HAProxy, and a reconnect storm after a SIGKILL (minutes).
 * `npm run bench -- --scenarios streaming`: CPU per delivery of SSE subscribers against WebSocket subscribers, one node.
 * `npm run bench -- --scenarios pusher`: CPU per delivery of Pusher-protocol subscribers against native ones, one node.
 * `npm run bench -- --scenarios publications --baseline <rev>`: CPU per channel publication of this build against
 * another commit's (built into a temp dir), cross-node on Redis, in one run.
 * Starts every server as its own child process, drives it from load processes, and prints side-by-side results with
 * ratios to wsgate (or to `ws` while wsgate is not built). Results go to bench/results/<timestamp>.json.
 * Method and figures: docs/performance.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { logDir } from './processes.js';
import { PLANS, type Mode } from './plan.js';
import { printReport, targetChecks, type BenchResults, type TargetStatus } from './report.js';
import { printClusterState, runClusterState, type ClusterStateRun } from './scenarios/cluster-state.js';
import { runFanout, type FanoutRun } from './scenarios/fanout.js';
import { runIdle, type IdleRun } from './scenarios/idle.js';
import { printScale, runScale, scalePlan, type ScaleRun } from './scenarios/scale.js';
import { runTracing, type TracingRow } from './scenarios/tracing.js';
import { PUBLICATIONS_CONFIG, runPublications, type PublicationsRun } from './scenarios/publications.js';
import { runStreaming, type StreamingRow } from './scenarios/streaming.js';
import { runPusher, type PusherRow } from './scenarios/pusher.js';
import { buildBaseline } from './baseline.js';
import type { Target } from './targets/target.js';
import { socketIoRedisTarget } from './targets/socketio-redis.js';
import { socketIoTarget } from './targets/socketio.js';
import { wsBroadcastTarget } from './targets/ws-broadcast.js';
import { uwsTarget } from './targets/uws.js';
import { wsgateClusterTarget, wsgateCompareRedisTarget, wsgateCompareTarget, wsgateNatsTarget, wsgateRedisTarget, wsgateTarget } from './targets/wsgate.js';

/**
 * Single-node targets, compared in every run. Cross-node ones (three nodes each, plus redis-server/nats-server) are
 * opt-in: `--targets wsgate,wsgate+redis,wsgate+nats,socket.io+redis` (and `wsgate-b+redis` with WSGATE_BENCH_COMPARE_CLI).
 */
const SINGLE_NODE: Target[] = [wsgateTarget, ...(wsgateCompareTarget ? [wsgateCompareTarget] : []), wsBroadcastTarget, socketIoTarget, uwsTarget];
const ALL_TARGETS: Target[] = [
  ...SINGLE_NODE, wsgateRedisTarget, ...(wsgateCompareRedisTarget ? [wsgateCompareRedisTarget] : []), wsgateNatsTarget, socketIoRedisTarget,
];

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    short: { type: 'boolean', default: false },
    targets: { type: 'string' },
    scenarios: { type: 'string', default: 'fanout,idle,tracing,cluster-state' },
    /** Override the plan's fixed fan-out rates (publications/s) and window length, e.g. for quick A/B runs. */
    rates: { type: 'string' },
    duration: { type: 'string' },
    /** The commit the publications scenario compares with (target `wsgate-b+redis`); tracing runs it as a third node. */
    baseline: { type: 'string' },
    rounds: { type: 'string' },
    /** `--scenarios scale`: sessions, wsgate nodes, load processes (sharing the HAProxies), engine.leaseMs, the nodes' limits.maxHandshakes. */
    connections: { type: 'string' },
    nodes: { type: 'string' },
    'load-processes': { type: 'string' },
    'lease-ms': { type: 'string' },
    'max-handshakes': { type: 'string' },
    'shared-source': { type: 'boolean' },
  },
});

const mode: Mode = values.full ? 'full' : 'short';
const plan = structuredClone(PLANS[mode]);
for (const fanoutPlan of plan.fanout) {
  if (values.rates) fanoutPlan.ratesPerSec = values.rates.split(',').map(Number);
  if (values.duration) fanoutPlan.durationMs = Number(values.duration);
}
const wanted = values.targets?.split(',').map((name) => name.trim());
const unknown = wanted?.filter((name) => name !== 'all' && !ALL_TARGETS.some((t) => t.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown target(s): ${unknown.join(', ')}; known: ${ALL_TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}
const targets = wanted ? ALL_TARGETS.filter((t) => wanted.includes('all') || wanted.includes(t.name)) : SINGLE_NODE;
const scenarios = new Set(values.scenarios.split(','));
const log = (line: string): void => console.log(line);

async function benchTarget(target: Target, fanout: FanoutRun[], idle: IdleRun[]): Promise<TargetStatus> {
  const reason = await target.unavailableReason();
  if (reason) {
    log(`${target.name}: ${reason}`);
    return { name: target.name, available: false, reason };
  }
  const note = target.note?.();
  if (note) log(`${target.name}: ${note}`);
  try {
    // A fresh server per scenario, so one scenario's leftovers (heap, JIT state of idle sockets) cannot skew another.
    if (scenarios.has('fanout')) {
      for (const fanoutPlan of plan.fanout) {
        log(`${target.name}: fan-out to ${fanoutPlan.subscribers} subscribers`);
        const running = await target.start({ pingIntervalMs: plan.pingIntervalMs });
        try {
          fanout.push(...(await runFanout(target, running, fanoutPlan, log)));
        } finally {
          await running.stop();
        }
      }
    }
    if (scenarios.has('idle')) {
      log(`${target.name}: ${plan.idle.connections} idle connections`);
      const running = await target.start({ pingIntervalMs: plan.pingIntervalMs });
      try {
        idle.push(await runIdle(target, running, plan.idle, log));
      } finally {
        await running.stop();
      }
    }
    return { name: target.name, available: true, note };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`${target.name}: failed: ${message} (server logs in ${logDir})`);
    return { name: target.name, available: false, reason: `failed: ${message}`, note };
  }
}

/**
 * This build and the `--baseline` build, each as three nodes on their own Redis, with the same configuration. Without
 * a baseline only this build runs (no ratio).
 */
async function benchPublications(statuses: TargetStatus[]): Promise<PublicationsRun[]> {
  const contenders = [wsgateClusterTarget('redis', 'wsgate+redis', undefined, { ...PUBLICATIONS_CONFIG })];
  if (values.baseline) contenders.push(wsgateClusterTarget('redis', 'wsgate-b+redis', buildBaseline(values.baseline, log), { ...PUBLICATIONS_CONFIG }));
  else log('publications: no --baseline <rev>; measuring this build alone');
  for (const target of contenders) {
    const reason = await target.unavailableReason();
    statuses.push(reason ? { name: target.name, available: false, reason } : { name: target.name, available: true });
    if (reason) return [];
  }
  const rounds = Number(values.rounds ?? (mode === 'full' ? 3 : 2));
  return runPublications(contenders, { ...plan.publications, rounds }, { pingIntervalMs: plan.pingIntervalMs }, log);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  log(`wsgate bench, ${mode} mode, ${cpus().length} cores; server logs in ${logDir}`);
  const fanout: FanoutRun[] = [];
  const idle: IdleRun[] = [];
  const statuses: TargetStatus[] = [];
  if (scenarios.has('fanout') || scenarios.has('idle')) for (const target of targets) statuses.push(await benchTarget(target, fanout, idle));
  const publications: PublicationsRun[] = [];
  if (scenarios.has('publications')) publications.push(...(await benchPublications(statuses)));
  // wsgate against itself with tracing on: needs the built CLI, and is independent of the targets chosen.
  let tracing: TracingRow[] = [];
  if (scenarios.has('tracing')) {
    const missing = await wsgateTarget.unavailableReason();
    if (missing) log(`tracing: ${missing}`);
    else {
      log(`tracing: wsgate with tracing off and on, ${plan.tracing.rounds} rounds`);
      const baselineCli = values.baseline ? buildBaseline(values.baseline, log) : undefined;
      tracing = await runTracing(plan.tracing, plan.pingIntervalMs, log, baselineCli).catch((error: unknown) => {
        log(`tracing: failed: ${error instanceof Error ? error.message : String(error)} (server logs in ${logDir})`);
        return [];
      });
    }
  }
  let streaming: StreamingRow[] = [];
  if (scenarios.has('streaming')) {
    const missing = await wsgateTarget.unavailableReason();
    if (missing) log(`streaming: ${missing}`);
    else {
      log(`streaming: ${plan.streaming.subscribers} SSE and ${plan.streaming.subscribers} WebSocket subscribers, ${plan.streaming.rounds} rounds`);
      streaming = await runStreaming(plan.streaming, plan.pingIntervalMs, log).catch((error: unknown) => {
        log(`streaming: failed: ${error instanceof Error ? error.message : String(error)} (server logs in ${logDir})`);
        return [];
      });
    }
  }
  let pusher: PusherRow[] = [];
  if (scenarios.has('pusher')) {
    const missing = await wsgateTarget.unavailableReason();
    if (missing) log(`pusher: ${missing}`);
    else {
      log(`pusher: ${plan.streaming.subscribers} Pusher-protocol and ${plan.streaming.subscribers} native subscribers, ${plan.streaming.rounds} rounds`);
      pusher = await runPusher(plan.streaming, plan.pingIntervalMs, log).catch((error: unknown) => {
        log(`pusher: failed: ${error instanceof Error ? error.message : String(error)} (server logs in ${logDir})`);
        return [];
      });
    }
  }
  let clusterState: ClusterStateRun[] = [];
  if (scenarios.has('cluster-state')) {
    try {
      clusterState = await runClusterState(plan.clusterState, log);
    } catch (error) {
      log(`cluster state: failed: ${error instanceof Error ? error.message : String(error)} (server logs in ${logDir})`);
    }
  }
  let scale: ScaleRun | undefined;
  if (scenarios.has('scale')) {
    const missing = await wsgateTarget.unavailableReason();
    if (missing) log(`scale: ${missing}`);
    else {
      const scaleOptions = { connections: values.connections, nodes: values.nodes, loadProcesses: values['load-processes'], leaseMs: values['lease-ms'], maxHandshakes: values['max-handshakes'], sharedSource: values['shared-source'] };
      scale = await runScale(scalePlan(scaleOptions), log).catch((error: unknown) => {
        log(`scale: failed: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
    }
  }
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    mode,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem(), node: process.version },
    plan,
    targets: statuses,
    fanout,
    idle,
    tracing,
    publications,
    streaming,
    pusher,
  };
  printReport(results);
  printClusterState(clusterState, plan.clusterState, log);
  printScale(scale, log);
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${startedAt.toISOString().replace(/[:.]/g, '-')}.json`, dir);
  writeFileSync(file, JSON.stringify({ ...results, clusterState, scale, checks: targetChecks(results) }, null, 2));
  log(`\nresults: ${file.pathname}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
