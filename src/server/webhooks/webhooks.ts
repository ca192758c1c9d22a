/**
 * Folder webhooks/: what the node tells backends — lifecycle events, the durable outbox on the engine's webhook queue,
 * batching per key, signing (Standard Webhooks, and Pusher's format for Pusher apps), retries and dead letters. It may
 * import protocol/, config/, pusher/ (channel names, signatures), engine contracts, observability and time/; layers
 * above report events through `LifecycleEvents`.
 */
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../observability/logger.js';
import { WebhookDispatcher, type DeadLetter } from './dispatcher.js';
import { partitionName, resolveEndpoints, type WebhookEndpoint } from './endpoints.js';
import type { WebhookEventType } from '../../protocol/webhook-events.js';
import { LifecycleEvents } from './lifecycle-events.js';
import { pusherEndpoints } from './pusher-webhooks.js';
import { WebhookOutbox } from './outbox.js';
import { WebhookMetrics } from './webhook-metrics.js';

/** A dead letter as the server API shows it. */
export interface DeadLetterView extends Omit<DeadLetter, 'event'> {
  id: string;
  event: DeadLetter['event']['e'];
}

/**
 * The node's webhook side, built from `webhooks` and the apps' `pusher.apps[].webhooks`: the lifecycle event emitter the node reports to, the outbox that
 * puts events into the engine's queue, the dispatcher that delivers the partitions this node holds, and the dead
 * letters. With no endpoint configured nothing runs and events are not even built.
 */
export class Webhooks {
  readonly events: LifecycleEvents;
  readonly endpoints: readonly WebhookEndpoint[];
  private readonly outbox: WebhookOutbox | null;
  private readonly dispatcher: WebhookDispatcher | null;
  private readonly partitions: number;

  constructor(
    config: Readonly<Config['webhooks']>,
    nodeId: string,
    private readonly engine: Engine,
    registry: MetricsRegistry,
    logger: Logger,
    pusherApps: Readonly<Config['pusher']['apps']> = [],
  ) {
    const native = resolveEndpoints(config);
    this.endpoints = [...native, ...pusherEndpoints(pusherApps, new Set(native.map((endpoint) => endpoint.name)))];
    this.partitions = config.partitions;
    if (this.endpoints.length === 0) {
      this.outbox = null;
      this.dispatcher = null;
      this.events = new LifecycleEvents(nodeId, null, new Set());
      return;
    }
    const log = logger.child({ component: 'webhooks' });
    const metrics = new WebhookMetrics(registry, () => this.backlog(), () => this.outbox?.buffered ?? 0);
    this.dispatcher = new WebhookDispatcher(nodeId, engine.webhookQueue, engine.registry, this.endpoints, config, metrics, log);
    this.outbox = new WebhookOutbox(engine.webhookQueue, this.endpoints, config, metrics, log, (partition) => this.dispatcher!.wake(partition));
    const wanted = new Set<WebhookEventType>(this.endpoints.flatMap((endpoint) => [...endpoint.events]));
    this.events = new LifecycleEvents(nodeId, this.outbox, wanted);
  }

  /** Starts delivering (after the engine is up). */
  start(): void {
    this.dispatcher?.start();
  }

  /** Puts what the node still holds into the engine and hands the partitions back, by `deadline`. */
  async stop(deadline: number): Promise<void> {
    await this.outbox?.settle(deadline);
    await this.dispatcher?.stop(deadline);
  }

  endpoint(name: string): WebhookEndpoint | undefined {
    return this.endpoints.find((endpoint) => endpoint.name === name);
  }

  /** Events in the engine per endpoint, across its partitions (the whole cluster's backlog). */
  async backlog(): Promise<Array<{ endpoint: string; events: number }>> {
    return Promise.all(this.endpoints.map(async (endpoint) => {
      const lengths = await Promise.all(Array.from({ length: this.partitions }, (_, index) => this.engine.webhookQueue.length(partitionName(endpoint.name, index))));
      return { endpoint: endpoint.name, events: lengths.reduce((sum, length) => sum + length, 0) };
    }));
  }

  /** Per endpoint: backlog, dead letters, and the partitions this node delivers. */
  async status(): Promise<Array<{ endpoint: string; url: string; events: string[]; backlog: number; deadLetters: number; partitions: number[] }>> {
    const backlog = await this.backlog();
    const owned = this.dispatcher?.ownedPartitions() ?? {};
    return Promise.all(this.endpoints.map(async (endpoint, index) => ({
      endpoint: endpoint.name,
      url: endpoint.url,
      events: [...endpoint.events],
      backlog: backlog[index]!.events,
      deadLetters: await this.engine.webhookQueue.deadCount(endpoint.name),
      partitions: owned[endpoint.name] ?? [],
    })));
  }

  /** A page of an endpoint's dead letters, oldest first. */
  async deadLetters(endpoint: string, cursor: string | null, limit: number): Promise<{ deadLetters: DeadLetterView[]; next: string | null }> {
    const page = await this.engine.webhookQueue.listDead(endpoint, cursor, limit);
    return { deadLetters: page.entries.flatMap(({ id, entry }) => toView(id, entry)), next: page.next };
  }

  /**
   * Sends dead letters again: the given ids, or the oldest `limit`. Each leaves the dead-letter list (once, however many
   * replays race) and re-enters its partition with its original id, so receivers that saw it before recognise it.
   */
  async replay(endpoint: string, ids: readonly string[] | null, limit: number): Promise<number> {
    const chosen = ids ?? (await this.engine.webhookQueue.listDead(endpoint, null, limit)).entries.map((entry) => entry.id);
    const taken = await this.engine.webhookQueue.takeDead(endpoint, chosen);
    const events = taken.flatMap(({ entry }) => {
      try {
        return [(JSON.parse(entry) as DeadLetter).event];
      } catch {
        return [];
      }
    });
    this.outbox?.requeue(endpoint, events);
    return events.length;
  }
}

function toView(id: string, entry: string): DeadLetterView[] {
  try {
    const letter = JSON.parse(entry) as DeadLetter;
    return [{ id, event: letter.event.e, failedAt: letter.failedAt, attempts: letter.attempts, lastError: letter.lastError }];
  } catch {
    return [];
  }
}
