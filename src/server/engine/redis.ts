import type { Broker, BrokerHandler } from './broker/broker.js';
import type { ChannelPublisher } from './broker/channel-publisher.js';
import type { Engine, EngineKind } from './engine.js';
import { RedisHistoryStore } from './history/redis.js';
import { RedisIdempotencyStore } from './idempotency/redis.js';
import { RedisActionRouteStore } from './action-routes/redis.js';
import type { RedisKeyspace } from './keyspace/keyspace.js';
import { RedisPresenceStore } from './presence/redis.js';
import { RedisRegistry } from './registry/redis.js';
import { RedisRevocationStore } from './revocations/redis.js';
import { RedisTicketStore } from './tickets/redis.js';
import { RedisChannelIndex } from './channel-index/redis.js';
import { RedisChannelCounts } from './channel-counts/redis.js';
import { RedisWebhookQueue } from './webhook-queue/redis.js';
import { RedisRateLimitStore } from './rate-limits/redis.js';

export interface RedisEngineParts {
  kind: Exclude<EngineKind, 'memory'>;
  /** Where registry, presence, history and tickets keep their keys; the engine connects and closes it. */
  keyspace: RedisKeyspace;
  /** Redis pub/sub, Redis Cluster sharded pub/sub, or NATS. */
  broker: Broker;
  /** How channel publications get their offset and reach `broker`: atomically where the broker is Redis itself. */
  publisher: (history: RedisHistoryStore) => ChannelPublisher;
}

/**
 * The shared-state engine of a cluster: registry, presence, history, tickets, idempotency keys, action routes,
 * revocations, the channel index, channel counts and the webhook queue in Redis (one instance, several
 * instances by consistent hashing, or a Redis Cluster), with a broker beside them. With kind `nats` the broker is
 * NATS and the stores are still Redis. Every store shares the keyspace's command connections; the broker has its own
 * subscriber connections. Healthy while every connection is up and the broker holds all its subscriptions.
 */
export class RedisEngine implements Engine {
  readonly kind: RedisEngineParts['kind'];
  readonly broker: Broker;
  readonly publisher: ChannelPublisher;
  readonly registry: RedisRegistry;
  readonly presence: RedisPresenceStore;
  readonly history: RedisHistoryStore;
  readonly tickets: RedisTicketStore;
  readonly idempotency: RedisIdempotencyStore;
  readonly actionRoutes: RedisActionRouteStore;
  readonly channelIndex: RedisChannelIndex;
  readonly channelCounts: RedisChannelCounts;
  readonly webhookQueue: RedisWebhookQueue;
  readonly revocations: RedisRevocationStore;
  readonly rateLimits: RedisRateLimitStore;
  private readonly keyspace: RedisKeyspace;

  constructor(parts: RedisEngineParts) {
    this.kind = parts.kind;
    this.keyspace = parts.keyspace;
    this.broker = parts.broker;
    this.registry = new RedisRegistry(parts.keyspace);
    this.presence = new RedisPresenceStore(parts.keyspace);
    this.history = new RedisHistoryStore(parts.keyspace);
    this.publisher = parts.publisher(this.history);
    this.tickets = new RedisTicketStore(parts.keyspace);
    this.idempotency = new RedisIdempotencyStore(parts.keyspace);
    this.actionRoutes = new RedisActionRouteStore(parts.keyspace);
    this.channelIndex = new RedisChannelIndex(parts.keyspace);
    this.channelCounts = new RedisChannelCounts(parts.keyspace);
    this.webhookQueue = new RedisWebhookQueue(parts.keyspace);
    this.revocations = new RedisRevocationStore(parts.keyspace);
    this.rateLimits = new RedisRateLimitStore(parts.keyspace);
  }

  /** Connects the stores, then the broker (inbox subscribed). Rejects, naming the server, when one is unreachable. */
  async start(nodeId: string, handler: BrokerHandler): Promise<void> {
    await this.keyspace.connect();
    await this.registry.start();
    await this.broker.start(nodeId, handler);
  }

  isHealthy(): boolean {
    return this.keyspace.isHealthy() && this.broker.isHealthy();
  }

  async close(): Promise<void> {
    await this.broker.close();
    await Promise.all([this.registry.close(), this.presence.close(), this.history.close(), this.tickets.close()]);
    await this.keyspace.close();
  }
}
