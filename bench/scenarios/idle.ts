import { readCpuMsOf } from '../metrics.js';
import type { ConnectSpec } from '../load/messages.js';
import type { RunningTarget, Target } from '../targets/target.js';
import { SubscriberFleet } from './fleet.js';

export interface IdlePlan {
  connections: number;
  /** Held open this long before memory is read, so at least one ping round has run. */
  holdMs: number;
  /** Handshakes in flight per load process. */
  concurrency: number;
}

export interface IdleRun {
  target: string;
  connections: number;
  opened: number;
  failed: number;
  firstError?: string;
  /** What one connect includes for this target (wsgate: ticket mint + handshake + welcome). */
  connectIncludes: string;
  connectsPerSec: number;
  serverCpuUsPerConnect: number;
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
  baselineRssBytes: number;
  baselineHeapBytes: number;
}

const CONNECT_INCLUDES: Record<string, string> = {
  ws: 'WebSocket handshake',
  socketio: 'WebSocket handshake + engine.io open + namespace connect',
  wsgate: 'POST /api/tickets + WebSocket handshake with ?ticket + welcome frame',
};

/** Open many idle connections to a freshly started target; measure connect rate and memory per connection. */
export async function runIdle(target: Target, running: RunningTarget, plan: IdlePlan, log: (line: string) => void): Promise<IdleRun> {
  const before = await running.memory();
  const spec: ConnectSpec = {
    kind: target.kind,
    urls: running.urls,
    channel: '',
    subscribe: false,
    ticketApiKey: target.ticketApiKey,
  };
  const cpu0 = readCpuMsOf(running.serverPids);
  // Sampling is irrelevant for idle connections; a huge interval keeps every client on the counting path.
  const { fleet, connect } = await SubscriberFleet.connect(spec, plan.connections, Number.MAX_SAFE_INTEGER, plan.concurrency);
  const cpuMs = readCpuMsOf(running.serverPids) - cpu0;
  try {
    await new Promise((resolve) => setTimeout(resolve, plan.holdMs));
    const after = await running.memory();
    const opened = Math.max(1, connect.opened);
    const run: IdleRun = {
      target: target.name,
      connections: plan.connections,
      opened: connect.opened,
      failed: connect.failed,
      firstError: connect.firstError,
      connectIncludes: CONNECT_INCLUDES[target.kind],
      connectsPerSec: connect.opened / (connect.elapsedMs / 1000),
      serverCpuUsPerConnect: (cpuMs * 1000) / opened,
      rssBytesPerConnection: (after.rssBytes - before.rssBytes) / opened,
      heapBytesPerConnection: (after.heapUsedBytes - before.heapUsedBytes) / opened,
      baselineRssBytes: before.rssBytes,
      baselineHeapBytes: before.heapUsedBytes,
    };
    log(
      `  ${run.target} idle ${run.opened}/${run.connections}: ${Math.round(run.connectsPerSec)} connects/s, ` +
        `${run.serverCpuUsPerConnect.toFixed(0)} µs CPU/connect, RSS ${(run.rssBytesPerConnection / 1024).toFixed(1)} KiB/conn, ` +
        `heap ${(run.heapBytesPerConnection / 1024).toFixed(1)} KiB/conn` +
        (run.failed ? `, ${run.failed} failed (${run.firstError})` : ''),
    );
    return run;
  } finally {
    await fleet.close();
  }
}
