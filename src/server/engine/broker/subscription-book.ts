import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { BrokerHandler, BrokerStats } from './broker.js';

/** Pub/sub names on Redis: a channel's publications travel with its keys' tag, a node's inbox with the node's. */
export const PubSubName = {
  channel: (keyspace: RedisKeyspace, channel: string) => keyspace.key(RoutingTag.channel(channel), 'pub'),
  inbox: (keyspace: RedisKeyspace, nodeId: string) => keyspace.key(RoutingTag.node(nodeId), 'inbox'),
} as const;

/**
 * What the Redis pub/sub brokers share: the channels this node wants and their pub/sub names, routing of what arrives
 * (inbox or channel) to the handler, health reporting on change, and the counters.
 */
export class SubscriptionBook {
  handler: BrokerHandler | null = null;
  /** This node's inbox name. */
  inbox = '';
  readonly counters = { published: 0, received: 0, inboxSent: 0, inboxReceived: 0 };
  private healthy = false;
  private readonly channels = new Set<string>();
  /** Pub/sub name -> channel, for incoming messages. */
  private readonly channelsByName = new Map<string, string>();

  /** Records interest; false when the channel was wanted already. */
  want(channel: string, name: string): boolean {
    if (this.channels.has(channel)) return false;
    this.channels.add(channel);
    this.channelsByName.set(name, channel);
    return true;
  }

  /** Drops interest; false when the channel was not wanted. */
  drop(channel: string, name: string): boolean {
    if (!this.channels.delete(channel)) return false;
    this.channelsByName.delete(name);
    return true;
  }

  wanted(): string[] {
    return [...this.channels];
  }

  /** Routes one incoming pub/sub message; a publication still in flight after an unsubscribe is dropped. */
  receive(name: Buffer, payload: Buffer): void {
    const handler = this.handler;
    if (!handler) return;
    const key = name.toString('utf8');
    if (key === this.inbox) {
      this.counters.inboxReceived++;
      handler.onInboxMessage(payload);
      return;
    }
    const channel = this.channelsByName.get(key);
    if (channel === undefined || !this.channels.has(channel)) return;
    this.counters.received++;
    handler.onChannelMessage(channel, payload);
  }

  /** Tells the handler about a change of health (not about repeats). */
  setHealth(healthy: boolean): void {
    if (healthy === this.healthy || !this.handler) return;
    this.healthy = healthy;
    this.handler.onHealthChange?.(healthy);
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  stats(): BrokerStats {
    return { ...this.counters, subscriptions: this.channels.size };
  }

  /** Forgets everything (close). */
  reset(): void {
    this.handler = null;
    this.channels.clear();
    this.channelsByName.clear();
    this.healthy = false;
  }
}
