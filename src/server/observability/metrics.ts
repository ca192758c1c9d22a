import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The node's Prometheus metrics. Each gateway has its own registry, so several gateways in one process (tests,
 * embedding) do not collide.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly sessions = new Gauge({ name: 'wsgate_sessions', help: 'Open sessions on this node', registers: [this.registry] });
  readonly channels = new Gauge({ name: 'wsgate_channels', help: 'Channels with local subscribers', registers: [this.registry] });
  readonly connections = new Counter({ name: 'wsgate_connections_total', help: 'Sessions accepted', labelNames: ['auth'], registers: [this.registry] });
  readonly handshakeFailures = new Counter({
    name: 'wsgate_handshake_failures_total', help: 'Refused handshakes by reason', labelNames: ['reason'], registers: [this.registry],
  });
  readonly messagesIn = new Counter({ name: 'wsgate_messages_in_total', help: 'Frames received from clients by type', labelNames: ['type'], registers: [this.registry] });
  readonly publications = new Counter({ name: 'wsgate_publications_total', help: 'Publications by source', labelNames: ['source'], registers: [this.registry] });
  readonly deliveries = new Counter({ name: 'wsgate_deliveries_total', help: 'Frames delivered to local sessions', registers: [this.registry] });
  readonly badFrames = new Counter({ name: 'wsgate_bad_frames_total', help: 'Malformed frames received', registers: [this.registry] });
  readonly rateLimited = new Counter({ name: 'wsgate_rate_limited_total', help: 'Requests refused by rate limits', labelNames: ['class'], registers: [this.registry] });
  readonly disconnects = new Counter({ name: 'wsgate_disconnects_total', help: 'Sessions closed by the gateway, by close code name', labelNames: ['reason'], registers: [this.registry] });
  readonly slowConsumers = new Counter({ name: 'wsgate_slow_consumers_total', help: 'Sessions evicted as slow consumers', registers: [this.registry] });
  readonly apiRequests = new Counter({ name: 'wsgate_api_requests_total', help: 'Server API calls by route and status', labelNames: ['route', 'status'], registers: [this.registry] });
  readonly apiLatency = new Histogram({
    name: 'wsgate_api_request_seconds', help: 'Server API latency', labelNames: ['route'], registers: [this.registry],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'wsgate_process_' });
  }
}
