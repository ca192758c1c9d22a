/**
 * Folder observability/: logs, Prometheus metrics, traffic counters and tracing. Leaf services every layer may use; it
 * may import protocol/ and engine contracts (to observe them), nothing above.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OUTBOUND_TYPES } from '../codec/frame-kinds.js';
import { RateWindow, TrafficCounters } from './traffic.js';

/** What the node reports at scrape time: channels it holds, frames it delivered. */
export interface HubGauges {
  channels(): number;
  deliveries(): number;
}

/**
 * The node's Prometheus metrics. Each gateway has its own registry, so several gateways in one process (tests,
 * embedding) do not collide. Hot-path figures (frames and bytes out, deliveries) are plain counters in `traffic` and
 * the node's delivery counters, copied into the registry when it is scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly traffic = new TrafficCounters();
  /** Frames in and out per second over the last minute (`GET /api/info`); started with the node. */
  readonly rates = new RateWindow(() => [this.traffic.framesIn, this.traffic.framesOut]);
  private hub: HubGauges = { channels: () => 0, deliveries: () => 0 };
  private historyBytes: () => number = () => 0;
  private engineHealthy: () => boolean = () => true;
  private handshakes: () => number = () => 0;

  readonly sessions = new Gauge({ name: 'wsgate_sessions', help: 'Open sessions on this node', registers: [this.registry] });
  readonly channels: Gauge = new Gauge({
    name: 'wsgate_channels', help: 'Channels with local subscribers', registers: [this.registry],
    collect: (): void => this.channels.set(this.hub.channels()),
  });
  readonly historyBytesInFlight: Gauge = new Gauge({
    name: 'wsgate_history_bytes_in_flight', help: 'History bytes read for replies and not yet written (limits.history)', registers: [this.registry],
    collect: (): void => this.historyBytesInFlight.set(this.historyBytes()),
  });
  readonly engineUp: Gauge = new Gauge({
    name: 'wsgate_engine_up', help: '1 while the engine (Redis, NATS) is reachable, 0 while it is unreachable', registers: [this.registry],
    collect: (): void => this.engineUp.set(this.engineHealthy() ? 1 : 0),
  });
  readonly handshakesInProgress: Gauge = new Gauge({
    name: 'wsgate_handshakes_in_progress', help: 'Handshakes from the opening request to welcome or refusal (limits.maxHandshakes)', registers: [this.registry],
    collect: (): void => this.handshakesInProgress.set(this.handshakes()),
  });
  readonly connections = new Counter({ name: 'wsgate_connections_total', help: 'Sessions accepted', labelNames: ['auth'], registers: [this.registry] });
  readonly handshakeFailures = new Counter({
    name: 'wsgate_handshake_failures_total', help: 'Refused handshakes by reason', labelNames: ['reason'], registers: [this.registry],
  });
  readonly messagesIn = new Counter({ name: 'wsgate_messages_in_total', help: 'Frames received from clients by type', labelNames: ['type'], registers: [this.registry] });
  readonly messagesOut: Counter<'type'> = new Counter({
    name: 'wsgate_messages_out_total', help: 'Frames written to clients by type', labelNames: ['type'], registers: [this.registry],
    collect: catchUp(() => OUTBOUND_TYPES.map((type, index) => [{ type }, this.traffic.outByType[index]!] as const), () => this.messagesOut),
  });
  readonly bytesOut: Counter = new Counter({
    name: 'wsgate_bytes_out_total', help: 'Bytes written to client sockets (WebSocket framing included)', registers: [this.registry],
    collect: catchUp(() => [[{}, this.traffic.bytesOut]], () => this.bytesOut),
  });
  readonly droppedFrames: Counter = new Counter({
    name: 'wsgate_dropped_frames_total', help: 'Frames not written: session closing or evicted, or socket gone', registers: [this.registry],
    collect: catchUp(() => [[{}, this.traffic.framesDropped]], () => this.droppedFrames),
  });
  readonly publications = new Counter({ name: 'wsgate_publications_total', help: 'Publications by source', labelNames: ['source'], registers: [this.registry] });
  readonly deliveries: Counter = new Counter({
    name: 'wsgate_deliveries_total', help: 'Frames delivered to local sessions by channel and user fan-out', registers: [this.registry],
    collect: catchUp(() => [[{}, this.hub.deliveries()]], () => this.deliveries),
  });
  readonly proxyHeaderFailures = new Counter({
    name: 'wsgate_proxy_header_failures_total', help: 'Connections from trusted proxies dropped for a missing or invalid PROXY header', registers: [this.registry],
  });
  readonly badFrames = new Counter({ name: 'wsgate_bad_frames_total', help: 'Malformed frames received', registers: [this.registry] });
  readonly rateLimited = new Counter({ name: 'wsgate_rate_limited_total', help: 'Requests refused by rate limits', labelNames: ['class'], registers: [this.registry] });
  readonly disconnects = new Counter({ name: 'wsgate_disconnects_total', help: 'Sessions closed by the gateway, by close code name', labelNames: ['reason'], registers: [this.registry] });
  readonly slowConsumers = new Counter({ name: 'wsgate_slow_consumers_total', help: 'Sessions evicted as slow consumers', registers: [this.registry] });
  readonly refreshes = new Counter({
    name: 'wsgate_refreshes_total', help: 'In-band credential refreshes by target (session, subscription) and result (ok or error code)',
    labelNames: ['target', 'result'], registers: [this.registry],
  });
  readonly connectHook = new Histogram({
    name: 'wsgate_connect_hook_seconds', help: 'Connect hook latency by outcome (admitted, refused, unavailable)', labelNames: ['outcome'],
    registers: [this.registry], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  readonly apiRequests = new Counter({
    name: 'wsgate_api_requests_total', help: 'HTTP calls by route pattern, method and status', labelNames: ['route', 'method', 'status'], registers: [this.registry],
  });
  readonly apiLatency = new Histogram({
    name: 'wsgate_api_request_seconds', help: 'HTTP latency by route pattern', labelNames: ['route', 'method'], registers: [this.registry],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  });

  constructor() {
    // Includes event-loop lag (wsgate_process_nodejs_eventloop_lag_seconds and its percentiles).
    collectDefaultMetrics({ register: this.registry, prefix: 'wsgate_process_' });
  }

  /** Where the channel gauge and the delivery counter are read from. */
  observeHub(hub: HubGauges): void {
    this.hub = hub;
  }

  /** Where the history bytes gauge is read from. */
  observeHistoryBytes(read: () => number): void {
    this.historyBytes = read;
  }
  /** Where `wsgate_engine_up` is read from. */
  observeEngine(healthy: () => boolean): void {
    this.engineHealthy = healthy;
  }

  /** Where `wsgate_handshakes_in_progress` is read from. */
  observeHandshakes(inProgress: () => number): void {
    this.handshakes = inProgress;
  }
}

type Labels = Record<string, string>;

/** A `collect` hook that raises a counter to the current value of a plain total (counters only go up). */
function catchUp(read: () => ReadonlyArray<readonly [Labels, number]>, counter: () => Counter<string>): () => void {
  const exported = new Map<string, number>();
  return () => {
    for (const [labels, value] of read()) {
      const key = JSON.stringify(labels);
      const delta = value - (exported.get(key) ?? 0);
      if (delta > 0) counter().inc(labels, delta);
      // Touch zero values once so every series is visible from the first scrape.
      else if (!exported.has(key)) counter().inc(labels, 0);
      exported.set(key, value);
    }
  };
}
