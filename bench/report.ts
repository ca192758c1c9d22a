import type { BenchPlan, Mode } from './plan.js';
import type { FanoutRun } from './scenarios/fanout.js';
import type { IdleRun } from './scenarios/idle.js';
import type { TracingRow } from './scenarios/tracing.js';
import type { StreamingRow } from './scenarios/streaming.js';
import type { PusherRow } from './scenarios/pusher.js';
import { summarizePublications, type PublicationsRun } from './scenarios/publications.js';

export interface TargetStatus {
  name: string;
  available: boolean;
  reason?: string;
  /** How it ran here, when that differs from the others (another Node, say). */
  note?: string;
}

/** The JSON written to bench/results/<timestamp>.json. */
export interface BenchResults {
  startedAt: string;
  mode: Mode;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string };
  plan: BenchPlan;
  targets: TargetStatus[];
  fanout: FanoutRun[];
  idle: IdleRun[];
  /** Tracing off vs on, per traced operation (empty when the scenario did not run). */
  tracing: TracingRow[];
  streaming: StreamingRow[];
  /** Pusher-protocol subscribers against native ones, with the streaming scenario's plan. */
  pusher: PusherRow[];
  /** `--scenarios publications`: the working tree (`wsgate+redis`) against a baseline build (`wsgate-b+redis`). */
  publications?: PublicationsRun[];
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const thousands = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');
const kib = (bytes: number): string => fixed(bytes / 1024, 1);
/** RSS per connection at or below this is within what a difference of two RSS readings resolves (a few hundred KB). */
const UNRESOLVED_RSS_BYTES = 50;

/** wsgate when it ran, else the `ws` baseline: ratios are always "reference ÷ peer". */
function referenceName(results: BenchResults): string {
  return results.targets.find((t) => t.name === 'wsgate')?.available ? 'wsgate' : 'ws';
}

/** "wsgate 0.40 µs, ws 1.60 µs (0.25x), socket.io 3.10 µs (0.13x)" */
function ratioLine<T extends { target: string }>(label: string, rows: T[], reference: string, value: (row: T) => number, format: (v: number) => string): string {
  const ref = rows.find((row) => row.target === reference);
  const parts = rows.map((row) => {
    const text = `${row.target} ${format(value(row))}`;
    if (!ref || row === ref) return text;
    return `${text} (${fixed(value(ref) / value(row), 2)}x)`;
  });
  return `${label}: ${parts.join(', ')}`;
}

function fanoutGroups(runs: FanoutRun[]): Map<string, FanoutRun[]> {
  const groups = new Map<string, FanoutRun[]>();
  for (const run of runs) {
    const key =
      run.mode === 'saturation'
        ? `${run.subscribers} subscribers, saturation`
        : run.rateKind === 'half-saturation'
          ? `${run.subscribers} subscribers, 50% of each target's own saturation (offered rate per row)`
          : `${run.subscribers} subscribers, ${run.offeredPerSec} pub/s offered (${thousands((run.offeredPerSec ?? 0) * run.subscribers)} msg/s)`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return groups;
}

export function printReport(results: BenchResults): void {
  const reference = referenceName(results);
  const out = (text = ''): void => console.log(text);
  out(`\n== wsgate bench (${results.mode}), ${results.machine.cpus} cores, ${results.machine.node}; ratios = ${reference} ÷ peer ==`);
  for (const target of results.targets) if (!target.available) out(`${target.name}: ${target.reason}`);
  for (const target of results.targets) if (target.available && target.note) out(`${target.name}: ${target.note}`);

  for (const [title, runs] of fanoutGroups(results.fanout)) {
    out(`\nFan-out, 64-byte payload, ${title}`);
    out(
      table(
        ['target', 'nodes', 'pub/s', 'delivered msg/s', 'CPU µs/msg', 'of it kernel', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'evicted', 'broker msgs/pub', 'server CPU %', 'load CPU %'],
        runs.map((r) => [
          r.target,
          String(r.nodes),
          r.mode === 'rate' ? String(r.offeredPerSec) : thousands(r.deliveredPerSec / r.subscribers),
          thousands(r.deliveredPerSec),
          fixed(r.cpuUsPerMessage, 2),
          fixed(r.systemCpuUsPerMessage ?? NaN, 2),
          fixed(r.latency.p50Ms, 2),
          fixed(r.latency.p99Ms, 2),
          fixed(r.latency.maxMs, 1),
          String(r.lost),
          String(r.evicted),
          fixed(r.brokerMessagesPerPublication, 2),
          fixed(r.serverCpuPercent + r.helperCpuPercent, 0) + (r.helperCpuPercent > 0.5 ? ` (broker ${fixed(r.helperCpuPercent, 0)})` : ''),
          fixed(r.loadCpuPercent, 0),
        ]),
      ),
    );
    out(ratioLine('CPU/msg', runs, reference, (r) => r.cpuUsPerMessage, (v) => `${fixed(v, 2)} µs`));
    if (runs[0].mode === 'saturation') out(ratioLine('msgs/s', runs, reference, (r) => r.deliveredPerSec, thousands));
    else out(ratioLine('p99', runs, reference, (r) => r.latency.p99Ms, (v) => `${fixed(v, 2)} ms`));
    const lossy = runs.filter((r) => r.mode === 'rate' && r.lost > 0);
    for (const r of lossy) out(`!! ${r.target} lost ${r.lost} of ${r.expected} at a fixed rate`);
  }

  if (results.publications && results.publications.length > 0) printPublications(results.publications, out);

  const checks = targetChecks(results);
  if (checks.length > 0) {
    out('\nTargets (docs/performance.md)');
    out(table(['target', 'where', 'measured', 'limit', 'met'], checks.map((c) => [c.name, c.where, c.measured, c.limit, c.met ? 'yes' : 'NO'])));
  }

  if (results.idle.length > 0) {
    out(`\nIdle connections (pings every ${results.plan.pingIntervalMs} ms)`);
    out(
      table(
        ['target', 'open', 'connects/s', 'CPU µs/connect', 'RSS KiB/conn', 'heap KiB/conn', 'RSS as left', 'young gen MB', 'connect includes'],
        results.idle.map((r) => [
          r.target,
          `${r.opened}/${r.connections}`,
          thousands(r.connectsPerSec),
          fixed(r.serverCpuUsPerConnect, 0),
          kib(r.rssBytesPerConnection),
          kib(r.heapBytesPerConnection),
          kib(r.rssAsLeftBytesPerConnection),
          fixed(r.youngGenerationBytes / 2 ** 20, 0),
          r.connectIncludes,
        ]),
      ),
    );
    out('RSS and heap per connection: both readings right after a memory-reducing collection; "as left": after ordinary ones, with the young generation V8 grew meanwhile');
    out(ratioLine('RSS/conn', results.idle, reference, (r) => r.rssBytesPerConnection, (v) => `${kib(v)} KiB`));
    out(ratioLine('RSS/conn as left', results.idle, reference, (r) => r.rssAsLeftBytesPerConnection, (v) => `${kib(v)} KiB`));
    out(ratioLine('connects/s', results.idle, reference, (r) => r.connectsPerSec, thousands));
  }

  if (results.streaming.length > 0) {
    const { subscribers, publicationsPerSec } = results.plan.streaming;
    out(`\nStreaming: ${subscribers} SSE vs ${subscribers} WebSocket subscribers of one node, ${publicationsPerSec} publications/s (server CPU per delivery)`);
    out(
      table(
        ['transport', 'deliveries', 'CPU µs/delivery', 'vs websocket'],
        results.streaming.map((r) => [r.transport, thousands(r.deliveries), fixed(r.serverCpuUsPerDelivery, 2), `${fixed(r.ratio, 2)}x`]),
      ),
    );
  }

  if (results.pusher.length > 0) {
    const { subscribers, publicationsPerSec } = results.plan.streaming;
    out(`\nPusher protocol: ${subscribers} Pusher-protocol vs ${subscribers} native WebSocket subscribers of one node, ${publicationsPerSec} publications/s (server CPU per delivery)`);
    out(
      table(
        ['protocol', 'deliveries', 'CPU µs/delivery', 'vs native'],
        results.pusher.map((r) => [r.kind, thousands(r.deliveries), fixed(r.serverCpuUsPerDelivery, 2), `${fixed(r.ratio, 2)}x`]),
      ),
    );
  }

  if (results.tracing.length > 0) {
    out('\nTracing: wsgate with OTLP/HTTP export of every span vs tracing off (same build; server CPU per operation)');
    const baseline = results.tracing.some((r) => r.baselineCpuUsPerOp !== undefined);
    out(
      table(
        ['operation', 'ops', 'off CPU µs/op', 'on CPU µs/op', 'on/off', 'spans/op', ...(baseline ? ['baseline CPU µs/op', 'off/baseline'] : [])],
        results.tracing.map((r) => [
          r.operation, String(r.operations), fixed(r.offCpuUsPerOp, 1), fixed(r.onCpuUsPerOp, 1), `${fixed(r.ratio, 2)}x`, fixed(r.spansPerOp, 2),
          ...(baseline ? [fixed(r.baselineCpuUsPerOp ?? NaN, 1), `${fixed(r.noopRatio ?? NaN, 2)}x`] : []),
        ]),
      ),
    );
  }
}

/** Per round and the mean per target; ratios are wsgate+redis ÷ wsgate-b+redis. */
function printPublications(runs: PublicationsRun[], out: (text?: string) => void): void {
  out('\nPublications, 3 nodes on one Redis, one channel with history: a publishing client on each of 2 nodes (closed loop), 1 subscriber on the third');
  const row = (r: Omit<PublicationsRun, 'round'>, round: string) => [
    r.target,
    round,
    thousands(r.published),
    thousands(r.perSec),
    fixed(r.serverCpuUsPerPublication, 1),
    fixed(r.redisCpuUsPerPublication, 1),
    thousands(r.delivered),
    String(r.inversions),
    String(r.errors),
  ];
  const summary = summarizePublications(runs);
  out(
    table(
      ['target', 'round', 'published', 'pub/s', 'server CPU µs/pub', 'redis CPU µs/pub', 'delivered', 'inversions', 'errors'],
      [...runs.map((r) => row(r, String(r.round))), ...summary.map((r) => row(r, 'mean'))],
    ),
  );
  const [atomic, twoStep] = [summary.find((r) => r.target === 'wsgate+redis'), summary.find((r) => r.target === 'wsgate-b+redis')];
  if (atomic && twoStep) {
    out(`server CPU/publication: ${fixed(atomic.serverCpuUsPerPublication, 1)} / ${fixed(twoStep.serverCpuUsPerPublication, 1)} µs = ${fixed(atomic.serverCpuUsPerPublication / twoStep.serverCpuUsPerPublication, 3)}x`);
    out(`server + redis CPU/publication: ${fixed(atomic.serverCpuUsPerPublication + atomic.redisCpuUsPerPublication, 1)} / ${fixed(twoStep.serverCpuUsPerPublication + twoStep.redisCpuUsPerPublication, 1)} µs = ${fixed((atomic.serverCpuUsPerPublication + atomic.redisCpuUsPerPublication) / (twoStep.serverCpuUsPerPublication + twoStep.redisCpuUsPerPublication), 3)}x`);
    out(`publications/s at saturation: ${thousands(atomic.perSec)} / ${thousands(twoStep.perSec)} = ${fixed(atomic.perSec / twoStep.perSec, 3)}x`);
  }
}

export interface TargetCheck {
  name: string;
  where: string;
  measured: string;
  limit: string;
  met: boolean;
}

function runLabel(run: FanoutRun): string {
  if (run.mode === 'saturation') return `N=${run.subscribers}, saturation`;
  if (run.rateKind === 'half-saturation') return `N=${run.subscribers}, 50% of own saturation (${run.offeredPerSec}/s)`;
  return `N=${run.subscribers}, ${thousands((run.offeredPerSec ?? 0) * run.subscribers)} msg/s`;
}

/** The same operating point of another target: same N and fixed rate, or both saturation, or both half-saturation. */
function peerRun(runs: FanoutRun[], run: FanoutRun, target: string): FanoutRun | undefined {
  return runs.find(
    (r) =>
      r.target === target &&
      r.subscribers === run.subscribers &&
      r.mode === run.mode &&
      r.rateKind === run.rateKind &&
      (run.rateKind !== 'fixed' || r.offeredPerSec === run.offeredPerSec),
  );
}

/** The targets, judged from this run's figures (only where both sides were measured). */
export function targetChecks(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const runs = results.fanout;
  for (const run of runs.filter((r) => r.target === 'wsgate')) {
    for (const [peer, limit] of [['ws', 0.25], ['socket.io', 0.2]] as const) {
      const other = peerRun(runs, run, peer);
      if (!other) continue;
      const ratio = run.cpuUsPerMessage / other.cpuUsPerMessage;
      checks.push({
        name: `CPU/msg vs ${peer}`,
        where: runLabel(run),
        measured: `${fixed(run.cpuUsPerMessage, 2)} / ${fixed(other.cpuUsPerMessage, 2)} µs = ${fixed(ratio, 2)}x`,
        limit: `<= ${limit}x`,
        met: ratio <= limit,
      });
    }
    const uws = peerRun(runs, run, 'uws');
    const uwsLimit = run.mode === 'saturation' ? 1.0 : run.rateKind === 'fixed' && run.offeredPerSec === 40 && run.subscribers === 1000 ? 1.25 : undefined;
    if (uws && uwsLimit !== undefined) {
      const ratio = run.cpuUsPerMessage / uws.cpuUsPerMessage;
      checks.push({
        name: 'CPU/msg vs uws',
        where: runLabel(run),
        measured: `${fixed(run.cpuUsPerMessage, 2)} / ${fixed(uws.cpuUsPerMessage, 2)} µs = ${fixed(ratio, 2)}x`,
        limit: `<= ${uwsLimit}x`,
        met: ratio <= uwsLimit,
      });
      if (run.mode === 'rate') {
        const p99Ratio = run.latency.p99Ms / uws.latency.p99Ms;
        checks.push({
          name: 'p99 vs uws',
          where: runLabel(run),
          measured: `${fixed(run.latency.p99Ms, 1)} / ${fixed(uws.latency.p99Ms, 1)} ms = ${fixed(p99Ratio, 2)}x`,
          limit: '<= 1.1x',
          met: p99Ratio <= 1.1,
        });
      }
    }
    if (run.rateKind === 'half-saturation') {
      checks.push({ name: 'p99 latency', where: runLabel(run), measured: `${fixed(run.latency.p99Ms, 1)} ms`, limit: '< 20 ms', met: run.latency.p99Ms < 20 });
    }
    for (const cluster of ['wsgate+redis', 'wsgate+nats']) {
      const other = peerRun(runs, run, cluster);
      if (!other) continue;
      const ratio = other.cpuUsPerMessage / run.cpuUsPerMessage;
      checks.push({
        name: `${cluster} CPU/msg vs single node`,
        where: runLabel(run) + (run.rateKind === 'half-saturation' ? ' (rates differ)' : ''),
        measured: `${fixed(other.cpuUsPerMessage, 2)} / ${fixed(run.cpuUsPerMessage, 2)} µs = ${fixed(ratio, 2)}x`,
        limit: '<= 1.3x',
        met: ratio <= 1.3,
      });
    }
  }
  for (const run of runs.filter((r) => r.target.startsWith('wsgate+') && r.mode === 'rate' && r.rateKind === 'fixed')) {
    // Subscribers are on two of the three nodes; the publisher's node has none, so it must not receive the publication.
    const interested = 2;
    checks.push({
      name: `${run.target} broker msgs/publication`,
      where: runLabel(run),
      measured: fixed(run.brokerMessagesPerPublication, 2),
      limit: `= ${interested} (nodes with subscribers, of ${run.nodes})`,
      met: Math.abs(run.brokerMessagesPerPublication - interested) < 0.01,
    });
  }
  const publications = summarizePublications(results.publications ?? []);
  const atomic = publications.find((r) => r.target === 'wsgate+redis');
  const twoStep = publications.find((r) => r.target === 'wsgate-b+redis');
  if (atomic && twoStep) {
    const ratio = atomic.serverCpuUsPerPublication / twoStep.serverCpuUsPerPublication;
    checks.push({
      name: 'ordered publish CPU/pub vs two-step build',
      where: `saturation, ${atomic.rounds} rounds each`,
      measured: `${fixed(atomic.serverCpuUsPerPublication, 1)} / ${fixed(twoStep.serverCpuUsPerPublication, 1)} µs = ${fixed(ratio, 3)}x`,
      limit: '<= 1.1x',
      met: ratio <= 1.1,
    });
    checks.push({ name: 'ordered publish inversions', where: 'subscriber node', measured: String(atomic.inversions), limit: '= 0', met: atomic.inversions === 0 });
  }
  const wsgateIdle = results.idle.find((r) => r.target === 'wsgate');
  const wsIdle = results.idle.find((r) => r.target === 'ws');
  if (wsgateIdle && wsIdle) {
    const ratio = wsgateIdle.rssBytesPerConnection / wsIdle.rssBytesPerConnection;
    checks.push({
      name: 'RSS per idle connection vs ws',
      where: `${wsgateIdle.opened} connections`,
      measured: `${kib(wsgateIdle.rssBytesPerConnection)} / ${kib(wsIdle.rssBytesPerConnection)} KiB = ${fixed(ratio, 2)}x`,
      limit: '<= 1.0x',
      met: ratio <= 1.0,
    });
  }
  const uwsIdle = results.idle.find((r) => r.target === 'uws');
  if (wsgateIdle && uwsIdle) {
    // No limit: reported beside `ws`, for scale (its sockets live in C++, outside the V8 heap).
    checks.push({
      name: 'RSS per idle connection vs uws',
      where: `${wsgateIdle.opened} connections`,
      // uWS adds so little per connection that RSS may not resolve it (a reading at or below 0.05 KiB): no ratio then.
      measured:
        uwsIdle.rssBytesPerConnection > UNRESOLVED_RSS_BYTES
          ? `${kib(wsgateIdle.rssBytesPerConnection)} / ${kib(uwsIdle.rssBytesPerConnection)} KiB = ${fixed(wsgateIdle.rssBytesPerConnection / uwsIdle.rssBytesPerConnection, 2)}x`
          : `${kib(wsgateIdle.rssBytesPerConnection)} / ≈0 KiB (not resolved by RSS)`,
      limit: 'reported',
      met: true,
    });
  }
  return checks;
}
