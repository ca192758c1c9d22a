import type { BenchPlan, Mode } from './plan.js';
import type { FanoutRun } from './scenarios/fanout.js';
import type { IdleRun } from './scenarios/idle.js';

export interface TargetStatus {
  name: string;
  available: boolean;
  reason?: string;
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
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const thousands = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');
const kib = (bytes: number): string => fixed(bytes / 1024, 1);

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
    const key = run.mode === 'rate' ? `${run.subscribers} subscribers, ${run.offeredPerSec} pub/s offered (${thousands((run.offeredPerSec ?? 0) * run.subscribers)} msg/s)` : `${run.subscribers} subscribers, saturation`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return groups;
}

export function printReport(results: BenchResults): void {
  const reference = referenceName(results);
  const out = (text = ''): void => console.log(text);
  out(`\n== wsgate bench (${results.mode}), ${results.machine.cpus} cores, ${results.machine.node}; ratios = ${reference} ÷ peer ==`);
  for (const target of results.targets) if (!target.available) out(`${target.name}: ${target.reason}`);

  for (const [title, runs] of fanoutGroups(results.fanout)) {
    out(`\nFan-out, 64-byte payload, ${title}`);
    out(
      table(
        ['target', 'delivered msg/s', 'CPU µs/msg', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'evicted', 'server CPU %', 'load CPU %'],
        runs.map((r) => [
          r.target,
          thousands(r.deliveredPerSec),
          fixed(r.cpuUsPerMessage, 2),
          fixed(r.latency.p50Ms, 2),
          fixed(r.latency.p99Ms, 2),
          fixed(r.latency.maxMs, 1),
          String(r.lost),
          String(r.evicted),
          fixed(r.serverCpuPercent + r.helperCpuPercent, 0) + (r.helperCpuPercent > 0.5 ? ` (redis ${fixed(r.helperCpuPercent, 0)})` : ''),
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

  if (results.idle.length > 0) {
    out(`\nIdle connections (pings every ${results.plan.pingIntervalMs} ms)`);
    out(
      table(
        ['target', 'open', 'connects/s', 'CPU µs/connect', 'RSS KiB/conn', 'heap KiB/conn', 'connect includes'],
        results.idle.map((r) => [
          r.target,
          `${r.opened}/${r.connections}`,
          thousands(r.connectsPerSec),
          fixed(r.serverCpuUsPerConnect, 0),
          kib(r.rssBytesPerConnection),
          kib(r.heapBytesPerConnection),
          r.connectIncludes,
        ]),
      ),
    );
    out(ratioLine('RSS/conn', results.idle, reference, (r) => r.rssBytesPerConnection, (v) => `${kib(v)} KiB`));
    out(ratioLine('connects/s', results.idle, reference, (r) => r.connectsPerSec, thousands));
  }
}
