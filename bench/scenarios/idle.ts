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
  /**
   * Connections opened and closed before the baseline is read, so what a server builds once on first use (code,
   * lazily made caches: wsgate's ticket store allocates its 100,000 slots at the first ticket) is not charged per
   * connection.
   */
  warmupConnections: number;
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
  /** RSS added per connection, both readings right after a memory-reducing collection (what the connections hold). */
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
  /** Outside the heap but known to V8 (buffers' backing stores, native objects), same readings; NaN when not reported. */
  externalBytesPerConnection: number;
  /** RSS added per connection as ordinary collections leave it, over the same reduced baseline: includes the young
   * generation V8 grew meanwhile and the old generation's free space. */
  rssAsLeftBytesPerConnection: number;
  /** Committed young generation once the connections are open (ordinary collections). */
  youngGenerationBytes: number;
  baselineRssBytes: number;
  baselineHeapBytes: number;
}

const CONNECT_INCLUDES: Record<string, string> = {
  ws: 'WebSocket handshake',
  socketio: 'WebSocket handshake + engine.io open + namespace connect',
  wsgate: 'POST /api/tickets + WebSocket handshake with ?ticket + welcome frame',
};

/** After the warm-up's clients exit: the server's close handling of a few hundred sessions takes milliseconds. */
const WARMUP_SETTLE_MS = 1000;

/** Open many idle connections to a freshly started target; measure connect rate and memory per connection. */
export async function runIdle(target: Target, running: RunningTarget, plan: IdlePlan, log: (line: string) => void): Promise<IdleRun> {
  const spec: ConnectSpec = {
    kind: target.kind,
    urls: running.urls,
    channel: '',
    subscribe: false,
    ticketApiKey: target.ticketApiKey,
  };
  if (plan.warmupConnections > 0) {
    // Indexes after the measured ones: the warm-up's users are not the measured connections' users.
    const warmup = await SubscriberFleet.connect(spec, plan.warmupConnections, Number.MAX_SAFE_INTEGER, plan.concurrency, plan.connections);
    await warmup.fleet.close();
    // The server sees the closes after the load processes exit; give it a moment to end those sessions.
    await new Promise((resolve) => setTimeout(resolve, WARMUP_SETTLE_MS));
  }
  const before = await running.memory();
  const cpu0 = readCpuMsOf(running.serverPids);
  // Sampling is irrelevant for idle connections; a huge interval keeps every client on the counting path.
  const { fleet, connect } = await SubscriberFleet.connect(spec, plan.connections, Number.MAX_SAFE_INTEGER, plan.concurrency);
  const cpuMs = readCpuMsOf(running.serverPids) - cpu0;
  try {
    await new Promise((resolve) => setTimeout(resolve, plan.holdMs));
    const after = await running.memory();
    const opened = Math.max(1, connect.opened);
    const reducedBefore = before.reduced ?? before;
    const reducedAfter = after.reduced ?? after;
    const run: IdleRun = {
      target: target.name,
      connections: plan.connections,
      opened: connect.opened,
      failed: connect.failed,
      firstError: connect.firstError,
      connectIncludes: CONNECT_INCLUDES[target.kind],
      connectsPerSec: connect.opened / (connect.elapsedMs / 1000),
      serverCpuUsPerConnect: (cpuMs * 1000) / opened,
      rssBytesPerConnection: (reducedAfter.rssBytes - reducedBefore.rssBytes) / opened,
      heapBytesPerConnection: (reducedAfter.heapUsedBytes - reducedBefore.heapUsedBytes) / opened,
      externalBytesPerConnection: ((after.reduced?.externalBytes ?? NaN) - (before.reduced?.externalBytes ?? NaN)) / opened,
      rssAsLeftBytesPerConnection: (after.rssBytes - reducedBefore.rssBytes) / opened,
      youngGenerationBytes: after.youngGenerationBytes ?? NaN,
      baselineRssBytes: reducedBefore.rssBytes,
      baselineHeapBytes: reducedBefore.heapUsedBytes,
    };
    log(
      `  ${run.target} idle ${run.opened}/${run.connections}: ${Math.round(run.connectsPerSec)} connects/s, ` +
        `${run.serverCpuUsPerConnect.toFixed(0)} µs CPU/connect, RSS ${(run.rssBytesPerConnection / 1024).toFixed(1)} KiB/conn, ` +
        `heap ${(run.heapBytesPerConnection / 1024).toFixed(1)} KiB/conn, external ${(run.externalBytesPerConnection / 1024).toFixed(2)} KiB/conn; as left: RSS ${(run.rssAsLeftBytesPerConnection / 1024).toFixed(1)} KiB/conn, ` +
        `young generation ${(run.youngGenerationBytes / 2 ** 20).toFixed(0)} MB` +
        (run.failed ? `, ${run.failed} failed (${run.firstError})` : ''),
    );
    return run;
  } finally {
    await fleet.close();
  }
}
