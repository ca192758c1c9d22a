/**
 * Fixed cost of wsgate nodes with nobody connected: CPU per second of each server process (and of the broker
 * processes) over a quiet window. What a cross-node deployment pays per node regardless of traffic (timers, lease
 * renewal, metrics), which at low publication rates is spread over few deliveries.
 *
 *   node --import tsx bench/idle-cost.ts [--targets wsgate,wsgate+redis,wsgate+nats] [--seconds 20]
 *   WSGATE_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/idle-prof" node --import tsx bench/idle-cost.ts --targets wsgate+redis
 */
import { parseArgs } from 'node:util';
import { readCpuMsOf } from './metrics.js';
import type { Target } from './targets/target.js';
import { wsgateNatsTarget, wsgateRedisTarget, wsgateTarget } from './targets/wsgate.js';

const { values } = parseArgs({
  options: { targets: { type: 'string', default: 'wsgate,wsgate+redis,wsgate+nats' }, seconds: { type: 'string', default: '20' } },
});
const all: Target[] = [wsgateTarget, wsgateRedisTarget, wsgateNatsTarget];
const seconds = Number(values.seconds);

async function main(): Promise<void> {
  for (const name of values.targets.split(',')) {
    const target = all.find((t) => t.name === name);
    if (!target) throw new Error(`unknown target ${name}`);
    const reason = await target.unavailableReason();
    if (reason) {
      console.log(`${name}: ${reason}`);
      continue;
    }
    const running = await target.start({ pingIntervalMs: 5000 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 3000)); // start-up work is not fixed cost
      const before = running.serverPids.map((pid) => readCpuMsOf([pid]));
      const helpers0 = readCpuMsOf(running.helperPids);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const perNode = running.serverPids.map((pid, i) => (readCpuMsOf([pid]) - before[i]!) / seconds);
      const helpers = (readCpuMsOf(running.helperPids) - helpers0) / seconds;
      console.log(
        `${name}: ${perNode.map((ms) => ms.toFixed(1)).join(' + ')} ms CPU/s per node` +
          ` (sum ${perNode.reduce((a, b) => a + b, 0).toFixed(1)} ms/s)` +
          (running.helperPids.length ? `, brokers ${helpers.toFixed(1)} ms/s` : '') +
          ` over ${seconds} s idle`,
      );
    } finally {
      await running.stop();
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
