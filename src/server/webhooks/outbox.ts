import type { WebhookQueue } from '../engine/webhook-queue/webhook-queue.js';
import type { Logger } from '../observability/logger.js';
import { partitionName, type WebhookEndpoint } from './endpoints.js';
import { partitionOfKey, type KeyedEvent } from './events.js';
import type { WebhookMetrics } from './webhook-metrics.js';

/** What an entry of the engine's webhook queue holds: the event with its ordering key and transition number. */
export interface QueuedEvent {
  k: string;
  s?: number;
  e: KeyedEvent['event'];
}

interface Append {
  endpoint: string;
  partition: string;
  /** The event's id (for the trace log). */
  id: string;
  entry: string;
}

/** Appends sent to the engine at once; the engine connection pipelines them in order. */
const APPEND_CHUNK = 256;

/**
 * Puts emitted events into the engine's webhook queue: one entry per endpoint that wants the event's type, in the
 * partition of the event's key, so one partition holds each user's and channel's events in emission order. While the
 * engine cannot take them the node keeps them, in order, up to `maxBuffered`, and retries; what does not fit (a full
 * buffer, a full partition) is dropped, counted and logged.
 */
export class WebhookOutbox {
  private readonly waiting: Append[] = [];
  /** Appends sent to the engine and not yet answered: still only in this node's memory. */
  private inFlight = 0;
  /** A pump is running; it reads `waiting` until it is empty, and clears this in the same step it sees it empty. */
  private pumping = false;
  private retryDelayMs = MIN_RETRY_MS;
  private readonly lastWarning = new Map<string, number>();
  private readonly traceEnabled: boolean;

  constructor(
    private readonly queue: WebhookQueue,
    private readonly endpoints: readonly WebhookEndpoint[],
    private readonly options: { partitions: number; maxQueueLength: number; maxBuffered: number },
    private readonly metrics: WebhookMetrics,
    private readonly logger: Logger,
    /** Called once an entry is in a partition, so a local reader can pick it up without waiting for its poll. */
    private readonly onAppended: (partition: string) => void,
  ) {
    this.traceEnabled = logger.isLevelEnabled('trace');
  }

  /** Events held by this node, not yet known to be in the engine (waiting, or sent and not yet answered). */
  get buffered(): number {
    return this.waiting.length + this.inFlight;
  }

  /** The partition number of a key. */
  partitionOf(key: string): number {
    return partitionOfKey(key, this.options.partitions);
  }

  emit(keyed: KeyedEvent): void {
    this.metrics.emittedOf(keyed.event.type).inc();
    let entry: string | undefined;
    for (const endpoint of this.endpoints) {
      if (!endpoint.events.has(keyed.event.type) || (endpoint.accepts && !endpoint.accepts(keyed.event))) continue;
      if (this.waiting.length >= this.options.maxBuffered) {
        this.drop(endpoint.name, 'buffer_full', 'the engine has not taken webhook events for a while; dropping new ones');
        continue;
      }
      entry ??= JSON.stringify({ k: keyed.key, ...(keyed.seq === undefined ? {} : { s: keyed.seq }), e: keyed.event } satisfies QueuedEvent);
      this.waiting.push({ endpoint: endpoint.name, partition: partitionName(endpoint.name, this.partitionOf(keyed.key)), id: keyed.event.id, entry });
    }
    this.startPump();
  }

  /** Re-enters dead letters (replay) with their original ids: appended like new events, after the ones waiting. */
  requeue(endpoint: string, events: readonly QueuedEvent[]): void {
    for (const event of events) {
      this.waiting.push({ endpoint, partition: partitionName(endpoint, this.partitionOf(event.k)), id: event.e.id, entry: JSON.stringify(event) });
    }
    this.startPump();
  }

  /** Resolves once every held event is in the engine, or at `deadline`. */
  async settle(deadline: number): Promise<void> {
    while (this.buffered > 0 && Date.now() < deadline) await delay(20);
  }

  /**
   * Starts the pump unless one runs. The flag is cleared by the pump itself, synchronously with its last look at
   * `waiting`: clearing it in a callback after the pump's promise settled left a few microtasks in which an event
   * pushed here found the flag still set, started nothing, and stayed in this node until its next emission.
   */
  private startPump(): void {
    if (this.pumping || this.waiting.length === 0) return;
    this.pump().catch((error: unknown) => this.logger.error({ err: error }, 'webhook outbox pump failed'));
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      // The loop is here, not in a helper awaited here: an await between its last look at `waiting` and the flag
      // cleared below would reopen the gap.
      while (this.waiting.length > 0) {
        const chunk = this.waiting.splice(0, APPEND_CHUNK);
        this.inFlight += chunk.length;
        const results = await Promise.allSettled(chunk.map((append) => this.queue.append(append.partition, append.entry, this.options.maxQueueLength)));
        this.inFlight -= chunk.length;
        const failed: Append[] = [];
        results.forEach((result, index) => {
          const append = chunk[index]!;
          if (result.status === 'rejected') failed.push(append);
          else if (result.value === null) this.drop(append.endpoint, 'queue_full', 'a webhook queue partition is full; dropping new events');
          else {
            // The event is durable from here on (trace level: tests read these lines as the ledger of emitted events).
            if (this.traceEnabled) this.logger.trace({ endpoint: append.endpoint, event: append.id }, 'webhook event queued');
            this.onAppended(append.partition);
          }
        });
        if (failed.length === 0) {
          this.retryDelayMs = MIN_RETRY_MS;
          continue;
        }
        // First in, first retried: the failed ones go back ahead of everything emitted since.
        this.waiting.unshift(...failed);
        this.warn('engine', 'the engine did not take webhook events; holding them and retrying', { held: this.waiting.length });
        await delay(this.retryDelayMs);
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_MS);
      }
    } finally {
      this.pumping = false;
    }
  }

  private drop(endpoint: string, reason: string, message: string): void {
    this.metrics.dropped.inc({ endpoint, reason });
    this.warn(`${endpoint}:${reason}`, message, { endpoint });
  }

  /** One line per cause per ten seconds: an overflow would otherwise log once per event. */
  private warn(cause: string, message: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - (this.lastWarning.get(cause) ?? 0) < 10_000) return;
    this.lastWarning.set(cause, now);
    this.logger.warn(fields, message);
  }
}

const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 2_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
