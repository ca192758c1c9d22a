/**
 * Folder engine/: the shared state behind small contracts — broker, channel publisher, history, presence, registry,
 * tickets, idempotency, rate limits, revocations, webhook queue, channel index and counts — each with its memory and
 * Redis (or NATS) implementation beside it, and the keyspace (single, sharded, cluster). It may import protocol/,
 * codec/ (the broker envelope), config/ (its own section) and time/; never the layers that use it.
 */
import type { Broker, BrokerHandler } from './broker/broker.js';
import type { ChannelPublisher } from './broker/channel-publisher.js';
import type { ActionRouteStore } from './action-routes/action-routes.js';
import type { ChannelCounts } from './channel-counts/channel-counts.js';
import type { ChannelIndex } from './channel-index/channel-index.js';
import type { HistoryStore } from './history/history.js';
import type { IdempotencyStore } from './idempotency/idempotency.js';
import type { PresenceStore } from './presence/presence.js';
import type { RateLimitStore } from './rate-limits/rate-limits.js';
import type { Registry } from './registry/registry.js';
import type { RevocationStore } from './revocations/revocations.js';
import type { TicketStore } from './tickets/tickets.js';
import type { WebhookQueue } from './webhook-queue/webhook-queue.js';

/** The shared-state backend of a node: one implementation of each contract, started and closed together. */
export interface Engine {
  readonly kind: EngineKind;
  readonly broker: Broker;
  /** Channel publications: offset, history and pub/sub in one atomic step per channel (see `ChannelPublisher`). */
  readonly publisher: ChannelPublisher;
  readonly registry: Registry;
  readonly presence: PresenceStore;
  readonly history: HistoryStore;
  readonly tickets: TicketStore;
  /** Answers of server API requests that carried an `Idempotency-Key`. */
  readonly idempotency: IdempotencyStore;
  /** Action routes backends registered at run time. */
  readonly actionRoutes: ActionRouteStore;
  /** Which nodes hold subscribers of which channel (cluster-wide occupancy). */
  readonly channelIndex: ChannelIndex;
  /** Each node's subscriber count per channel, for cluster-wide listings (operators, `/api/channels`). */
  readonly channelCounts: ChannelCounts;
  /** Webhook events waiting for delivery, and dead letters. */
  readonly webhookQueue: WebhookQueue;
  /** Users and token ids refused until a given time. */
  readonly revocations: RevocationStore;
  /** Rate buckets per user and per API key, shared by the cluster. */
  readonly rateLimits: RateLimitStore;
  start(nodeId: string, handler: BrokerHandler): Promise<void>;
  /** False while the backing store is unreachable (`/readyz` reports it). */
  isHealthy(): boolean;
  close(): Promise<void>;
}

export type EngineKind = 'memory' | 'redis' | 'redis-cluster' | 'nats';
