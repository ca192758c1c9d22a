import type { ClusterKeyspace } from '../keyspace/cluster.js';
import type { Broker, BrokerHandler, BrokerStats } from './broker.js';
import type { PublicationCounter } from './channel-publisher.js';
import { PubSubName, SubscriptionBook } from './subscription-book.js';

/**
 * Broker on Redis Cluster sharded pub/sub (Redis 7): SSUBSCRIBE/SPUBLISH, so a publication travels only inside the
 * shard that owns its channel's slot instead of being broadcast over the whole cluster bus. Channel and inbox names
 * carry the same hash tags as the keys (`{c:<channel>}`, `{n:<node>}`).
 *
 * ioredis (`shardedSubscribers`) keeps one subscriber per master and re-subscribes after topology changes and
 * reconnects; health follows the cluster connection (`false` on close, `true` once the cluster is ready and the
 * subscribers report ready). Guarantee: at most once, ordered per shard.
 */
export class RedisClusterBroker implements Broker, PublicationCounter {
  private readonly book = new SubscriptionBook();
  private readonly detach: Array<() => void> = [];

  constructor(private readonly keyspace: ClusterKeyspace) {}

  async start(nodeId: string, handler: BrokerHandler): Promise<void> {
    if (this.book.handler) throw new Error('RedisClusterBroker already started');
    this.book.handler = handler;
    this.book.inbox = PubSubName.inbox(this.keyspace, nodeId);
    await this.keyspace.connect();
    const { cluster } = this.keyspace;
    // ioredis types cluster listeners loosely; each listener below states its own arguments.
    const on = (event: string, listener: (...args: any[]) => void) => {
      cluster.on(event, listener);
      this.detach.push(() => cluster.off(event, listener));
    };
    on('smessageBuffer', (name: Buffer, payload: Buffer) => this.book.receive(name, payload));
    on('close', () => this.book.setHealth(false));
    on('-subscriber', () => this.book.setHealth(false));
    on('subscribersReady', () => this.book.setHealth(cluster.status === 'ready'));
    on('ready', () => this.book.setHealth(true));
    await cluster.ssubscribe(this.book.inbox);
    this.book.setHealth(true);
  }

  async subscribe(channel: string): Promise<void> {
    if (!this.book.handler) throw new Error('RedisClusterBroker not started');
    const name = PubSubName.channel(this.keyspace, channel);
    if (!this.book.want(channel, name)) return;
    await this.keyspace.cluster.ssubscribe(name);
  }

  async unsubscribe(channel: string): Promise<void> {
    const name = PubSubName.channel(this.keyspace, channel);
    if (!this.book.drop(channel, name)) return;
    await this.keyspace.cluster.sunsubscribe(name).catch(() => undefined);
  }

  async publish(channel: string, payload: Buffer): Promise<void> {
    await this.keyspace.cluster.spublish(PubSubName.channel(this.keyspace, channel), payload);
    this.book.counters.published++;
  }

  /** Counts a publication `RedisChannelPublisher` sent on this broker's pub/sub. */
  recordPublished(): void {
    this.book.counters.published++;
  }

  async sendToNode(nodeId: string, payload: Buffer): Promise<void> {
    await this.keyspace.cluster.spublish(PubSubName.inbox(this.keyspace, nodeId), payload);
    this.book.counters.inboxSent++;
  }

  isHealthy(): boolean {
    return this.book.isHealthy();
  }

  stats(): BrokerStats {
    return this.book.stats();
  }

  async close(): Promise<void> {
    const channels = this.book.wanted().map((channel) => PubSubName.channel(this.keyspace, channel));
    const inbox = this.book.inbox;
    this.book.reset();
    for (const detach of this.detach.splice(0)) detach();
    if (this.keyspace.cluster.status === 'ready') {
      // One name per call: names of different slots may not share a SUNSUBSCRIBE.
      await Promise.all([inbox, ...channels].map((name) => this.keyspace.cluster.sunsubscribe(name).catch(() => undefined)));
    }
  }
}
