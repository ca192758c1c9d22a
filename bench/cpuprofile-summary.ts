/**
 * Self time by function from V8 .cpuprofile files (`node --cpu-prof`), e.g. a wsgate server profiled during a fan-out run:
 *
 *   WSGATE_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/wsgate-prof" npm run bench -- --targets wsgate --scenarios fanout
 *   node --import tsx bench/cpuprofile-summary.ts /tmp/wsgate-prof/*.cpuprofile [--top 30]
 *
 * A profile is a call tree (`nodes`, each with a `callFrame`) plus `samples` (node ids) and `timeDeltas` (µs before each
 * sample). A sample's delta is charged to the node it hit: that node's self time. Nodes of the same function (same
 * name, script and line, reached through different callers) are summed. `(program)`, `(idle)` and `(garbage collector)`
 * are V8's own buckets; native work called from JS (syscalls in libuv writes) counts to the JS function that called it.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface Profile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, skip: { type: 'string', default: '0' } },
});
/** Leave out the first `--skip` seconds of each profile (start-up: module loading, JIT), to see a steady state. */
const skipUs = Number(values.skip) * 1e6;
if (positionals.length === 0) {
  console.error('usage: node --import tsx bench/cpuprofile-summary.ts <file.cpuprofile>... [--top N] [--skip seconds]');
  process.exit(2);
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = frame.url.replace(/^file:\/\//, '');
  const where = file.includes('/node_modules/') ? file.slice(file.lastIndexOf('/node_modules/') + 14) : basename(file);
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

for (const path of positionals) {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const labelOf = new Map<number, string>();
  for (const node of profile.nodes) labelOf.set(node.id, label(node.callFrame));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  let elapsedUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsedUs += delta;
    if (elapsedUs < skipUs) continue;
    const key = labelOf.get(profile.samples[i]!) ?? '?';
    selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
    totalUs += delta;
  }
  const idleUs = selfUs.get('(idle)') ?? 0;
  const busyUs = totalUs - idleUs;
  console.log(`\n${path}`);
  console.log(`  wall ${(totalUs / 1e6).toFixed(2)} s, busy (not idle) ${(busyUs / 1e6).toFixed(2)} s; self time, % of busy:`);
  const rows = [...selfUs].filter(([key]) => key !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [key, us] of rows) {
    console.log(`  ${((us / busyUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
  }
}
