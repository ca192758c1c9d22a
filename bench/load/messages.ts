/**
 * IPC between the orchestrator (bench/run.ts) and its load processes. Everything is plain data so it survives
 * `process.send` serialization.
 */

/** The wire protocol a load client speaks; each target names one. */
export type ClientKind = 'ws' | 'socketio' | 'wsgate';

/** How a load client reaches and joins the target. */
export interface ConnectSpec {
  kind: ClientKind;
  /** One base URL per server node (`ws://127.0.0.1:port` or `http://...`); client i uses urls[i % urls.length]. */
  urls: string[];
  channel: string;
  /** Join `channel` after connecting (fan-out); idle connections only connect. */
  subscribe: boolean;
  /** wsgate: mint a one-time ticket per connection with this API key (`POST /api/tickets`) and connect with it. */
  ticketApiKey?: string;
}

export type WorkerCommand =
  | { cmd: 'connect'; spec: ConnectSpec; count: number; firstIndex: number; sampleEvery: number; concurrency: number }
  | { cmd: 'reset' }
  | { cmd: 'report' }
  | { cmd: 'close' };

export interface ConnectResult {
  ev: 'connected';
  opened: number;
  failed: number;
  elapsedMs: number;
  firstError?: string;
}

export interface WorkerReport {
  ev: 'report';
  /** Deliveries counted since the last reset (all subscribers of this worker). */
  received: number;
  /** Monotonic µs of the last delivery since the last reset (0 = none). */
  lastReceiveUs: number;
  /** Publish-to-receive latencies of the sampled subscribers, µs. */
  latenciesUs: number[];
  /** Clients the server closed since connecting (a slow-consumer eviction shows up here). */
  closed: number;
  /** This load process's event-loop delay since the last reset, p99 and max, ms: how long a readable socket can wait
   * for the process to get to it (time counted in every latency sample, but not the server's). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export type PublisherCommand =
  /** `probeUrl`: the node of the probe subscriber (default: the publisher's, `spec.urls[0]`). */
  | { cmd: 'connect'; spec: ConnectSpec; probeUrl?: string }
  | { cmd: 'rate'; rate: number; durationMs: number }
  | { cmd: 'saturate'; window: number; durationMs: number }
  | { cmd: 'close' };

export interface PublishResult {
  ev: 'done';
  sent: number;
  /** Monotonic µs when the first publication was sent. */
  startUs: number;
  elapsedMs: number;
  /** Error frames the target answered publications with (rate limits, ...). */
  errors: number;
  /** Saturation only: the probe saw nothing for a while, so the closed loop gave up early. */
  stalled: boolean;
}

/** The scale scenario's load processes (scale-worker.ts): sessions that reconnect through the balancer when dropped. */
export type ScaleCommand =
  | { cmd: 'connect'; spec: ConnectSpec; count: number; firstIndex: number; concurrency: number }
  /** Mark every session now open on `node`: from here on, their first welcome from another node is timed. */
  | { cmd: 'watch'; node: string }
  | { cmd: 'report' }
  | { cmd: 'close' };

export interface ScaleConnected {
  ev: 'connected';
  opened: number;
  elapsedMs: number;
}

export interface ScaleReport {
  ev: 'report';
  /** Sessions open now, by the node that welcomed them. */
  byNode: Record<string, number>;
  /** Failed attempts (ticket or handshake) so far, by reason: `handshake HTTP 503`, `ticket tcp ECONNRESET`, ... */
  failures: Record<string, number>;
  /** Open sessions the other side closed (each is reconnected). */
  drops: number;
  /** The same by how they ended: `close 4002` (the node's close frame: no pong in time), `tcp ECONNRESET`, `tcp end`. */
  dropReasons: Record<string, number>;
  /** Attempts (ticket + handshake) started so far. */
  attempts: number;
  /** Sessions marked by `watch`, and the monotonic µs at which each of them was welcomed by another node. */
  watched: number;
  backAtUs: number[];
  /** This load process: CPU ms so far, V8 heap in use, and its event-loop delay since the last `watch` (p99, max). */
  cpuMs: number;
  heapUsedBytes: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}
