import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WebhookEventType } from '../../protocol/webhook-events.js';

/** The webhook side of a node's Prometheus metrics. */
export class WebhookMetrics {
  readonly emitted: Counter<'type'>;
  readonly delivered: Counter<'endpoint'>;
  readonly retried: Counter<'endpoint'>;
  readonly deadLettered: Counter<'endpoint'>;
  readonly dropped: Counter<'endpoint' | 'reason'>;
  readonly attempts: Counter<'endpoint' | 'outcome'>;
  readonly latency: Histogram<'endpoint'>;
  readonly backlog: Gauge<'endpoint'>;
  readonly buffered: Gauge;
  /** Per-event series, bound once: a label lookup per event is measurable at thousands of events a second. */
  private readonly emittedByType = new Map<WebhookEventType, Counter.Internal>();
  private readonly latencyByEndpoint = new Map<string, Histogram.Internal<'endpoint'>>();

  constructor(registry: Registry, backlog: () => Promise<Array<{ endpoint: string; events: number }>>, buffered: () => number) {
    const registers = [registry];
    this.emitted = new Counter({ name: 'wsgate_webhook_events_emitted_total', help: 'Lifecycle events emitted by this node, by type', labelNames: ['type'], registers });
    this.delivered = new Counter({ name: 'wsgate_webhook_events_delivered_total', help: 'Events an endpoint acknowledged (2xx)', labelNames: ['endpoint'], registers });
    this.retried = new Counter({ name: 'wsgate_webhook_events_retried_total', help: 'Events sent again after a failed attempt', labelNames: ['endpoint'], registers });
    this.deadLettered = new Counter({
      name: 'wsgate_webhook_events_dead_lettered_total', help: 'Events that failed for the whole retry period', labelNames: ['endpoint'], registers,
    });
    this.dropped = new Counter({
      name: 'wsgate_webhook_events_dropped_total',
      help: 'Events not kept: queue partition full, node buffer full (engine unreachable), dead-letter list full',
      labelNames: ['endpoint', 'reason'], registers,
    });
    this.attempts = new Counter({
      name: 'wsgate_webhook_requests_total', help: 'Webhook requests by outcome (ok, status class, timeout, error)', labelNames: ['endpoint', 'outcome'], registers,
    });
    this.latency = new Histogram({
      name: 'wsgate_webhook_delivery_seconds', help: 'From emission to acknowledgement, per event', labelNames: ['endpoint'], registers,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    });
    const backlogGauge: Gauge<'endpoint'> = new Gauge({
      name: 'wsgate_webhook_backlog', help: 'Events waiting or in delivery in the engine, per endpoint (whole cluster)', labelNames: ['endpoint'], registers,
      async collect() {
        try {
          for (const { endpoint, events } of await backlog()) backlogGauge.set({ endpoint }, events);
        } catch {
          // Engine unreachable: keep the last values.
        }
      },
    });
    this.backlog = backlogGauge;
    const bufferedGauge: Gauge = new Gauge({
      name: 'wsgate_webhook_buffered', help: 'Events this node holds because the engine could not take them yet', registers,
      collect: () => bufferedGauge.set(buffered()),
    });
    this.buffered = bufferedGauge;
  }

  emittedOf(type: WebhookEventType): Counter.Internal {
    let child = this.emittedByType.get(type);
    if (!child) this.emittedByType.set(type, (child = this.emitted.labels({ type })));
    return child;
  }

  latencyOf(endpoint: string): Histogram.Internal<'endpoint'> {
    let child = this.latencyByEndpoint.get(endpoint);
    if (!child) this.latencyByEndpoint.set(endpoint, (child = this.latency.labels({ endpoint })));
    return child;
  }
}
