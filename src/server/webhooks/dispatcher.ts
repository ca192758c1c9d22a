import { createHash } from 'node:crypto';
import type { Registry } from '../engine/registry/registry.js';
import type { QueueEntry, WebhookQueue } from '../engine/webhook-queue/webhook-queue.js';
import type { Logger } from '../observability/logger.js';
import { postBatch, type AttemptOutcome } from './endpoint-client.js';
import { partitionName, type WebhookEndpoint } from './endpoints.js';
import type { WebhookEventType } from '../../protocol/webhook-events.js';
import { TRANSITION_FAMILIES } from './events.js';
import { KeyedBatcher, type BatchItem } from './keyed-batcher.js';
import type { QueuedEvent } from './outbox.js';
import { retryDelay, type RetryPolicy } from './retry-policy.js';
import type { WebhookMetrics } from './webhook-metrics.js';

export interface DispatcherOptions {
  partitions: number;
  leaseMs: number;
  pollIntervalMs: number;
  reorderWindowMs: number;
  maxDeadLetters: number;
  retry: RetryPolicy;
}

/** What a dead letter holds: the event as it was queued, and why it gave up. */
export interface DeadLetter {
  event: QueuedEvent;
  failedAt: string;
  attempts: number;
  lastError: string;
}

interface OwnedPartition {
  /** XAUTOCLAIM cursor while taking over what earlier owners left pending; null once reading new entries. */
  cursor: string | null;
  /** Entries taken over from earlier owners. */
  claimed: number;
  pumping: boolean;
  /** Woken while pumping: read once more before stopping. */
  again: boolean;
  /** Handed back (the node holds more than its share): no more reading; released once nothing of it is in flight. */
  releasing: boolean;
}

interface EndpointWorker {
  endpoint: WebhookEndpoint;
  batcher: KeyedBatcher;
  owned: Map<number, OwnedPartition>;
  /** Per transition event type: its family, and the step between the family's numbers this endpoint receives. */
  steps: Map<WebhookEventType, { family: string; step: number | null }>;
}

/** Entries read from a partition at once. */
const READ_COUNT = 100;

/**
 * Delivers the webhook queue. Every endpoint's partitions are shared among the live nodes, each held by one node
 * under a lease (a node takes up to its share, `ceil(partitions / live nodes)`, and hands back what is beyond it).
 * An owner first takes over what earlier owners read and never acknowledged (XAUTOCLAIM), then reads new entries in
 * order, batches them per endpoint without reordering any key (KeyedBatcher), signs and posts each batch, retries it
 * with backoff and full jitter until the retry period of its oldest event has passed, then dead-letters it.
 * An entry is acknowledged only after its endpoint answered 2xx or it is a dead letter, so a node that dies loses
 * nothing: its partitions' leases lapse and their next owners deliver again what it had not finished (at least once;
 * a retry keeps every event id).
 */
export class WebhookDispatcher {
  private readonly workers: EndpointWorker[];
  private leaseTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private stopped = false;
  private ticking: Promise<void> | null = null;
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly nodeId: string,
    private readonly queue: WebhookQueue,
    private readonly registry: Pick<Registry, 'liveNodes'>,
    endpoints: readonly WebhookEndpoint[],
    private readonly options: DispatcherOptions,
    private readonly metrics: WebhookMetrics,
    private readonly logger: Logger,
  ) {
    this.workers = endpoints.map((endpoint) => {
      const worker: EndpointWorker = { endpoint, owned: new Map(), steps: transitionSteps(endpoint), batcher: undefined! };
      worker.batcher = new KeyedBatcher(
        {
          batchSize: endpoint.batchSize, concurrency: endpoint.concurrency, lingerMs: endpoint.lingerMs,
          reorderWindowMs: options.reorderWindowMs, maxBuffered: Math.max(READ_COUNT, endpoint.batchSize * endpoint.concurrency * 4),
        },
        (batch) => this.deliver(worker, batch),
        () => this.pumpAll(worker),
      );
      return worker;
    });
  }

  /** Partitions this node holds, per endpoint (for the server API). */
  ownedPartitions(): Record<string, number[]> {
    return Object.fromEntries(this.workers.map((worker) => [worker.endpoint.name, [...worker.owned.keys()].sort((a, b) => a - b)]));
  }

  start(): void {
    void this.tick();
    this.leaseTimer = setInterval(() => void this.tick(), Math.max(200, Math.floor(this.options.leaseMs / 3)));
    this.leaseTimer.unref();
    this.pollTimer = setInterval(() => {
      for (const worker of this.workers) this.pumpAll(worker);
    }, this.options.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** An entry was appended to `partition` by this node: read it now if this node owns the partition. */
  wake(partition: string): void {
    for (const worker of this.workers) {
      for (const [index, owned] of worker.owned) {
        if (partitionName(worker.endpoint.name, index) === partition) this.pump(worker, index, owned);
      }
    }
  }

  /**
   * Stops reading and retrying, lets batches in flight finish until `deadline`, and gives every lease back, so the
   * other nodes take the partitions over at once (what this node had not finished is still pending for them).
   */
  async stop(deadline: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.leaseTimer);
    clearInterval(this.pollTimer);
    for (const wake of this.sleepers) wake();
    for (const worker of this.workers) worker.batcher.close();
    await this.ticking;
    while (this.workers.some((worker) => worker.batcher.batchesInFlight > 0) && Date.now() < deadline) await sleep(20);
    await Promise.all(this.workers.flatMap((worker) =>
      [...worker.owned.keys()].map((index) => this.queue.release(partitionName(worker.endpoint.name, index), this.nodeId).catch(() => {}))));
  }

  private tick(): Promise<void> {
    this.ticking ??= this.balance()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'webhook partition leases could not be renewed'))
      .finally(() => (this.ticking = null));
    return this.ticking;
  }

  /** Renews held leases, takes free partitions up to this node's share, hands back what is beyond it. */
  private async balance(): Promise<void> {
    if (this.stopped) return;
    const live = await this.registry.liveNodes().catch(() => null);
    const nodes = Math.max(1, live?.length ?? 1);
    const units = this.workers.length * this.options.partitions;
    const share = Math.ceil(units / nodes);
    let held = 0;
    for (const worker of this.workers) {
      for (const [index, owned] of [...worker.owned]) {
        const name = partitionName(worker.endpoint.name, index);
        if (owned.releasing && !worker.batcher.holds(index)) {
          worker.owned.delete(index);
          await this.queue.release(name, this.nodeId);
          continue;
        }
        if (await this.queue.lease(name, this.nodeId, this.options.leaseMs)) held += owned.releasing ? 0 : 1;
        else this.abandon(worker, index);
      }
    }
    // Start at a place of this node's own, so nodes starting together do not all compete for the same partitions.
    const offset = Number.parseInt(createHash('sha1').update(this.nodeId).digest('hex').slice(0, 8), 16) % units;
    for (let step = 0; step < units && held < share && !this.stopped; step++) {
      const unit = (offset + step) % units;
      const worker = this.workers[Math.floor(unit / this.options.partitions)]!;
      const index = unit % this.options.partitions;
      if (worker.owned.has(index)) continue;
      if (!(await this.queue.lease(partitionName(worker.endpoint.name, index), this.nodeId, this.options.leaseMs))) continue;
      const owned: OwnedPartition = { cursor: '0-0', claimed: 0, pumping: false, again: false, releasing: false };
      worker.owned.set(index, owned);
      held++;
      this.pump(worker, index, owned);
    }
    for (const worker of this.workers) {
      for (const [index, owned] of worker.owned) {
        if (held <= share) break;
        if (owned.releasing) continue;
        owned.releasing = true;
        held--;
      }
    }
  }

  /** The lease went to another node: stop, and forget what was read but not sent (the new owner has it). */
  private abandon(worker: EndpointWorker, index: number): void {
    worker.owned.delete(index);
    worker.batcher.drop(index);
    this.logger.info({ endpoint: worker.endpoint.name, partition: index }, 'webhook partition lease lost');
  }

  private pumpAll(worker: EndpointWorker): void {
    for (const [index, owned] of worker.owned) this.pump(worker, index, owned);
  }

  /** Reads a partition into the batcher while there is room: pending entries of earlier owners first, then new ones. */
  private pump(worker: EndpointWorker, index: number, owned: OwnedPartition): void {
    if (owned.pumping) {
      owned.again = true;
      return;
    }
    owned.pumping = true;
    void (async () => {
      const name = partitionName(worker.endpoint.name, index);
      try {
        do {
          owned.again = false;
          while (!this.stopped && !owned.releasing && worker.owned.get(index) === owned) {
            const count = Math.min(READ_COUNT, worker.batcher.room);
            if (count <= 0) break;
            let entries: QueueEntry[] | null;
            if (owned.cursor !== null) {
              const claimed = await this.queue.claimPending(name, this.nodeId, owned.cursor, count);
              entries = claimed?.entries ?? null;
              if (claimed) {
                owned.cursor = claimed.next;
                owned.claimed += claimed.entries.length;
                if (owned.cursor === null && owned.claimed > 0) {
                  this.logger.info({ endpoint: worker.endpoint.name, partition: index, events: owned.claimed }, 'took over pending webhook events');
                }
              }
            } else entries = await this.queue.readNew(name, this.nodeId, count);
            // Refused: the lease lapsed (this node was too slow to renew it) and may be another node's now.
            if (entries === null) {
              if (worker.owned.get(index) === owned) this.abandon(worker, index);
              break;
            }
            if (worker.owned.get(index) !== owned) break;
            await this.accept(worker, index, entries);
            if (owned.cursor === null && entries.length < count) break;
          }
        } while (owned.again && !this.stopped);
      } catch (error) {
        this.warnOnce(`read:${name}`, { err: error, partition: name }, 'webhook partition read failed; read again at the next poll');
      } finally {
        owned.pumping = false;
      }
    })();
  }

  private async accept(worker: EndpointWorker, index: number, entries: QueueEntry[]): Promise<void> {
    const unreadable: string[] = [];
    for (const { id, entry } of entries) {
      let queued: QueuedEvent;
      try {
        queued = JSON.parse(entry) as QueuedEvent;
        if (typeof queued.k !== 'string' || typeof queued.e?.id !== 'string') throw new Error('not a queued event');
      } catch {
        unreadable.push(id);
        continue;
      }
      const transition = worker.steps.get(queued.e.type);
      worker.batcher.add({
        key: queued.k, seq: queued.s, family: transition && `${queued.k}#${transition.family}`, step: transition?.step ?? null,
        partition: index, entryId: id, event: queued.e,
      });
    }
    if (unreadable.length > 0) {
      this.logger.warn({ endpoint: worker.endpoint.name, entries: unreadable.length }, 'dropped webhook queue entries that are not events');
      await this.queue.ack(partitionName(worker.endpoint.name, index), unreadable);
    }
  }

  /** Posts a batch until the endpoint takes it or its retry period is over; then acknowledges it. */
  private async deliver(worker: EndpointWorker, batch: BatchItem[]): Promise<void> {
    const { endpoint } = worker;
    const events = batch.map((item) => item.event);
    const messageId = `msg_${createHash('sha256').update(events.map((event) => event.id).join(',')).digest('base64url').slice(0, 24)}`;
    const oldest = Math.min(...events.map((event) => Date.parse(event.timestamp)));
    const giveUpAt = oldest + this.options.retry.periodMs;
    // A batch is retried only while this node still owns its partitions; otherwise their next owner has the events.
    const owned = () => batch.every((item) => worker.owned.has(item.partition));
    for (let attempt = 0; !this.stopped && (attempt === 0 || owned()); attempt++) {
      if (attempt > 0) this.metrics.retried.inc({ endpoint: endpoint.name }, batch.length);
      const result = await postBatch(endpoint, events, messageId, attempt);
      this.metrics.attempts.inc({ endpoint: endpoint.name, outcome: result.outcome });
      if (result.outcome === 'ok') {
        const now = Date.now();
        const latency = this.metrics.latencyOf(endpoint.name);
        for (const event of events) latency.observe((now - Date.parse(event.timestamp)) / 1000);
        this.metrics.delivered.inc({ endpoint: endpoint.name }, batch.length);
        await this.settle(worker, batch, null);
        return;
      }
      if (Date.now() >= giveUpAt) {
        await this.settle(worker, batch, { attempts: attempt + 1, result });
        return;
      }
      await this.sleep(Math.min(retryDelay(this.options.retry, attempt), Math.max(0, giveUpAt - Date.now())));
    }
  }

  /** Acknowledges a finished batch (dead letters written first), retrying while the engine is away. */
  private async settle(worker: EndpointWorker, batch: BatchItem[], failure: { attempts: number; result: AttemptOutcome } | null): Promise<void> {
    const { endpoint } = worker;
    let deadLettered = failure === null;
    for (let wait = 100; !this.stopped; wait = Math.min(wait * 2, 2_000)) {
      try {
        if (!deadLettered && failure) {
          const failedAt = new Date().toISOString();
          const letters = batch.map((item) => JSON.stringify({
            event: { k: item.key, ...(item.seq === undefined ? {} : { s: item.seq }), e: item.event },
            failedAt, attempts: failure.attempts, lastError: failure.result.detail,
          } satisfies DeadLetter));
          const kept = await this.queue.addDead(endpoint.name, letters, this.options.maxDeadLetters);
          deadLettered = true;
          this.metrics.deadLettered.inc({ endpoint: endpoint.name }, kept);
          if (kept < letters.length) this.metrics.dropped.inc({ endpoint: endpoint.name, reason: 'dead_letters_full' }, letters.length - kept);
          this.logger.warn({ endpoint: endpoint.name, events: batch.length, attempts: failure.attempts, lastError: failure.result.detail }, 'webhook events dead-lettered');
        }
        const byPartition = new Map<number, string[]>();
        for (const item of batch) {
          const ids = byPartition.get(item.partition) ?? [];
          ids.push(item.entryId);
          byPartition.set(item.partition, ids);
        }
        await Promise.all([...byPartition].map(([index, ids]) => this.queue.ack(partitionName(endpoint.name, index), ids)));
        return;
      } catch (error) {
        this.warnOnce(`ack:${endpoint.name}`, { err: error, endpoint: endpoint.name }, 'webhook acknowledgement failed; retrying');
        await this.sleep(wait);
      }
    }
  }

  private readonly lastWarning = new Map<string, number>();

  /** One line per cause per ten seconds: a store that keeps failing would otherwise log on every poll. */
  private warnOnce(cause: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - (this.lastWarning.get(cause) ?? 0) < 10_000) return;
    this.lastWarning.set(cause, now);
    this.logger.warn(fields, message);
  }

  /** A wait that `stop` cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}

function transitionSteps(endpoint: WebhookEndpoint): Map<WebhookEventType, { family: string; step: number | null }> {
  const steps = new Map<WebhookEventType, { family: string; step: number | null }>();
  for (const { name, types, alternates } of TRANSITION_FAMILIES) {
    const both = types.every((type) => endpoint.events.has(type));
    for (const type of types) steps.set(type, { family: name, step: both ? 1 : alternates ? 2 : null });
  }
  return steps;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
