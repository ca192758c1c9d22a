import type { ClusterKeyspace } from '../keyspace/cluster.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { Broker, BrokerHandler, BrokerStats } from './broker.js';

/**
 * Broker on Redis Cluster sharded pub/sub (Redis 7): SSUBSCRIBE/SPUBLISH, so a publication travels only inside the
 * shard that owns its channel's slot instead of being broadcast over the whole cluster bus. Channel and inbox names
 * carry the same hash tags as the keys (`{c:<channel>}`, `{n:<node>}`).
 *
 * ioredis (`shardedSubscribers`) keeps one subscriber per master and re-subscribes after topology changes and
 * reconnects; health follows the cluster connection (`false` on close, `true` once the cluster is ready and the
 * subscribers report ready). Guarantee: at most once, ordered per shard.
 */
export class RedisClusterBroker implements Broker {
  private handler: BrokerHandler | null = null;
  private healthy = false;
  private inbox = '';
  private readonly channels = new Set<string>();
  private readonly channelsByName = new Map<string, string>();
  private readonly counters = { published: 0, received: 0, inboxSent: 0, inboxReceived: 0 };
  private readonly detach: Array<() => void> = [];

  constructor(private readonly keyspace: ClusterKeyspace) {}

  private pubsubName(channel: string): string {
    return this.keyspace.key(RoutingTag.channel(channel), 'pub');
  }

  private inboxName(nodeId: string): string {
    return this.keyspace.key(RoutingTag.node(nodeId), 'inbox');
  }

  async start(nodeId: string, handler: BrokerHandler): Promise<void> {
    if (this.handler) throw new Error('RedisClusterBroker already started');
    this.handler = handler;
    this.inbox = this.inboxName(nodeId);
    await this.keyspace.connect();
    const { cluster } = this.keyspace;
    // ioredis types cluster listeners loosely; each listener below states its own arguments.
    const on = (event: string, listener: (...args: any[]) => void) => {
      cluster.on(event, listener);
      this.detach.push(() => cluster.off(event, listener));
    };
    on('smessageBuffer', (name: Buffer, payload: Buffer) => this.receive(name, payload));
    on('close', () => this.setHealth(false));
    on('-subscriber', () => this.setHealth(false));
    on('subscribersReady', () => this.setHealth(cluster.status === 'ready'));
    on('ready', () => this.setHealth(true));
    await cluster.ssubscribe(this.inbox);
    this.setHealth(true);
  }

  private setHealth(healthy: boolean): void {
    if (healthy === this.healthy || !this.handler) return;
    this.healthy = healthy;
    this.handler.onHealthChange?.(healthy);
  }

  private receive(name: Buffer, payload: Buffer): void {
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

  async subscribe(channel: string): Promise<void> {
    if (!this.handler) throw new Error('RedisClusterBroker not started');
    if (this.channels.has(channel)) return;
    const name = this.pubsubName(channel);
    this.channels.add(channel);
    this.channelsByName.set(name, channel);
    await this.keyspace.cluster.ssubscribe(name);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.channels.has(channel)) return;
    const name = this.pubsubName(channel);
    this.channels.delete(channel);
    this.channelsByName.delete(name);
    await this.keyspace.cluster.sunsubscribe(name).catch(() => undefined);
  }

  async publish(channel: string, payload: Buffer): Promise<void> {
    await this.keyspace.cluster.spublish(this.pubsubName(channel), payload);
    this.counters.published++;
  }

  async sendToNode(nodeId: string, payload: Buffer): Promise<void> {
    await this.keyspace.cluster.spublish(this.inboxName(nodeId), payload);
    this.counters.inboxSent++;
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  stats(): BrokerStats {
    return { ...this.counters, subscriptions: this.channels.size };
  }

  async close(): Promise<void> {
    const channels = [...this.channels].map((channel) => this.pubsubName(channel));
    this.handler = null;
    for (const detach of this.detach.splice(0)) detach();
    if (this.keyspace.cluster.status === 'ready') {
      // One name per call: names of different slots may not share a SUNSUBSCRIBE.
      await Promise.all([this.inbox, ...channels].map((name) => this.keyspace.cluster.sunsubscribe(name).catch(() => undefined)));
    }
    this.channels.clear();
    this.channelsByName.clear();
    this.healthy = false;
  }
}
