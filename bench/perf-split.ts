/**
 * Where a server process's CPU goes, from a Linux `perf` recording: every sample is put in one bucket, by the code it
 * was taken in (the kernel's write path, the JavaScript of wsgate or of Node, Node's C++, V8, libuv, libc, uWS's C++),
 * so two servers recorded in one run can be compared bucket by bucket. Kernel samples are split by the system call
 * the stack shows (write/sendto, reads, epoll, page faults, interrupts).
 *
 *   WSGATE_BENCH_NODE_FLAGS=--perf-basic-prof perf record -a -g -F 499 -o /tmp/perf.data -- \
 *     npm run bench -- --targets wsgate,uws --scenarios fanout --rates 40 --duration 10000
 *   perf script -i /tmp/perf.data --pid <server pid> -F pid,time,ip,sym,dso | \
 *     node --import tsx bench/perf-split.ts --from <seconds> --to <seconds>
 *
 * `--perf-basic-prof` lets perf name V8's compiled JavaScript (`JS:*name file:line`); `--from`/`--to` are perf's
 * timestamps (the second column of `perf script`), to pick one operating point of the run. Not part of `npm run bench`:
 * perf needs a kernel that lets the user sample every CPU.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string', default: '12' } } });
const from = values.from === undefined ? -Infinity : Number(values.from);
const to = values.to === undefined ? Infinity : Number(values.to);

interface Frame {
  symbol: string;
  object: string;
}

const buckets = new Map<string, number>();
const symbols = new Map<string, number>();
let samples = 0;

function add(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function userBucket({ symbol, object }: Frame): string {
  if (object.includes('[JIT]') || object.includes('/perf-')) {
    if (symbol.includes('file://')) return 'JavaScript: the server\'s own';
    if (symbol.includes('node:')) return 'JavaScript: Node (streams, net, timers)';
    return 'JavaScript: V8 stubs';
  }
  if (/\/node$|\/bin\/node/.test(object)) {
    if (symbol.startsWith('Builtins_')) return 'V8 builtins';
    if (symbol.startsWith('uv_') || symbol.startsWith('uv__')) return 'libuv';
    if (symbol.startsWith('node::') || symbol.includes(' node::')) return 'Node C++';
    if (symbol.includes('v8::')) return 'V8 runtime and GC';
    return 'node binary, other';
  }
  if (object.includes('libc.so')) return 'libc';
  if (object.includes('uws_')) return 'uWS C++';
  if (object.includes('libstdc++') || object.includes('libgcc')) return 'libstdc++';
  return `other: ${object.split('/').at(-1)}`;
}

function kernelBucket(stack: readonly Frame[]): string {
  const calls = stack.filter((frame) => frame.object.includes('kernel')).map((frame) => frame.symbol).join(' ');
  if (/sys_write|sys_sendto|sys_writev|sys_sendmsg/.test(calls)) return 'kernel: write/sendto';
  if (/epoll/.test(calls)) return 'kernel: epoll';
  if (/sys_read|sys_recvfrom|sys_recvmsg/.test(calls)) return 'kernel: read/recv';
  if (/page_fault/.test(calls)) return 'kernel: page faults';
  if (/softirq|net_rx|irq/.test(calls)) return 'kernel: interrupts';
  return 'kernel: other';
}

function count(time: number, stack: Frame[]): void {
  if (time < from || time > to || stack.length === 0) return;
  samples++;
  const leaf = stack[0]!;
  if (leaf.object.includes('kernel')) {
    add(buckets, kernelBucket(stack));
    return;
  }
  const bucket = userBucket(leaf);
  add(buckets, bucket);
  add(symbols, `[${bucket}] ${leaf.symbol.slice(0, 100)}`);
}

let time = NaN;
let stack: Frame[] = [];
for await (const line of createInterface({ input: process.stdin })) {
  const header = /^\s*\d+\s+([\d.]+):/.exec(line);
  if (header) {
    count(time, stack);
    time = Number(header[1]);
    stack = [];
    continue;
  }
  const frame = /^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(line);
  if (frame) stack.push({ symbol: frame[1]!, object: frame[2]! });
}
count(time, stack);

const share = (n: number) => `${((100 * n) / samples).toFixed(1).padStart(5)}%`;
const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
console.log(`${samples} samples`);
for (const [bucket, n] of sorted(buckets)) console.log(`${share(n)}  ${bucket}`);
console.log('where the user-space samples were taken (top functions):');
for (const [symbol, n] of sorted(symbols).slice(0, Number(values.top))) console.log(`${share(n)}  ${symbol}`);
