import { MemoryBroker, MemoryBus } from './broker/memory.js';
import type { BrokerHandler } from './broker/broker.js';
import { MemoryChannelPublisher } from './broker/memory-channel-publisher.js';
import type { Engine } from './engine.js';
import { MemoryHistoryState, MemoryHistoryStore } from './history/memory.js';
import { MemoryIdempotencyStore } from './idempotency/memory.js';
import { MemoryActionRouteStore } from './action-routes/memory.js';
import { MemoryPresenceState, MemoryPresenceStore } from './presence/memory.js';
import { MemoryRegistry, MemoryRegistryState } from './registry/memory.js';
import { MemoryRevocationStore } from './revocations/memory.js';
import { MemoryTicketStore } from './tickets/memory.js';
import { MemoryChannelIndex, MemoryChannelIndexState } from './channel-index/memory.js';
import { MemoryChannelCounts, MemoryChannelCountsState } from './channel-counts/memory.js';
import { MemoryWebhookQueue } from './webhook-queue/memory.js';
import { MemoryRateLimitStore } from './rate-limits/memory.js';
import { systemClock, type Clock } from '../time/clock.js';

/** State several in-process nodes can share to behave as one cluster. */
export class MemoryCluster {
  readonly bus = new MemoryBus();
  readonly registry = new MemoryRegistryState();
  readonly presence = new MemoryPresenceState();
  readonly history = new MemoryHistoryState();
  readonly channelIndex = new MemoryChannelIndexState();
  readonly channelCounts = new MemoryChannelCountsState();
  /** What every store of the cluster expires on: tickets, idempotency keys, routes, leases, revocations, history. */
  readonly clock: Clock;
  readonly tickets: MemoryTicketStore;
  readonly idempotency: MemoryIdempotencyStore;
  readonly actionRoutes: MemoryActionRouteStore;
  readonly webhookQueue: MemoryWebhookQueue;
  readonly revocations: MemoryRevocationStore;
  readonly rateLimits: MemoryRateLimitStore;

  constructor({ clock = systemClock }: { clock?: Clock } = {}) {
    this.clock = clock;
    this.tickets = new MemoryTicketStore({ clock });
    this.idempotency = new MemoryIdempotencyStore({ clock });
    this.actionRoutes = new MemoryActionRouteStore({ clock });
    this.webhookQueue = new MemoryWebhookQueue({ clock });
    this.revocations = new MemoryRevocationStore({ clock });
    this.rateLimits = new MemoryRateLimitStore({ clock });
  }
}

/**
 * Everything in this process's memory: the default engine, and the reference for the others. Nothing survives the
 * process, webhook events waiting for delivery included.
 */
export class MemoryEngine implements Engine {
  readonly kind = 'memory' as const;
  readonly broker: MemoryBroker;
  readonly publisher: MemoryChannelPublisher;
  readonly registry: MemoryRegistry;
  readonly presence: MemoryPresenceStore;
  readonly history: MemoryHistoryStore;
  readonly tickets: MemoryTicketStore;
  readonly idempotency: MemoryIdempotencyStore;
  readonly actionRoutes: MemoryActionRouteStore;
  readonly channelIndex: MemoryChannelIndex;
  readonly channelCounts: MemoryChannelCounts;
  readonly webhookQueue: MemoryWebhookQueue;
  readonly revocations: MemoryRevocationStore;
  readonly rateLimits: MemoryRateLimitStore;
  private readonly ownsTickets: boolean;

  constructor(cluster?: MemoryCluster) {
    const clock = cluster?.clock ?? systemClock;
    this.broker = new MemoryBroker(cluster?.bus);
    this.registry = new MemoryRegistry(cluster?.registry, { clock });
    this.presence = new MemoryPresenceStore(cluster?.presence);
    this.history = new MemoryHistoryStore(cluster?.history, { clock });
    this.publisher = new MemoryChannelPublisher(this.history, this.broker);
    this.tickets = cluster?.tickets ?? new MemoryTicketStore();
    this.idempotency = cluster?.idempotency ?? new MemoryIdempotencyStore();
    this.actionRoutes = cluster?.actionRoutes ?? new MemoryActionRouteStore();
    this.channelIndex = new MemoryChannelIndex(cluster?.channelIndex);
    this.channelCounts = new MemoryChannelCounts(cluster?.channelCounts, { clock });
    this.webhookQueue = cluster?.webhookQueue ?? new MemoryWebhookQueue();
    this.revocations = cluster?.revocations ?? new MemoryRevocationStore();
    this.rateLimits = cluster?.rateLimits ?? new MemoryRateLimitStore();
    this.ownsTickets = !cluster;
  }

  async start(nodeId: string, handler: BrokerHandler): Promise<void> {
    await this.registry.start();
    await this.broker.start(nodeId, handler);
  }

  isHealthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    await this.broker.close();
    await this.history.close();
    if (this.ownsTickets) await this.tickets.close();
  }
}
