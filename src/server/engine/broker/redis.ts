import type { Redis } from 'ioredis';
import { closeClient, connectClient } from '../keyspace/connection.js';
import type { ShardedKeyspace } from '../keyspace/sharded.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { Broker, BrokerHandler, BrokerStats } from './broker.js';
import type { PublicationCounter } from './channel-publisher.js';
import { PubSubName, SubscriptionBook } from './subscription-book.js';

/**
 * Broker on Redis pub/sub, over one or several independent Redis instances. A channel's publications travel on the
 * instance its routing tag hashes to (`<prefix>:{c:<channel>}:pub`), a node's inbox on the instance of its node tag
 * (`<prefix>:{n:<node>}:inbox`), so each instance carries only its share of the traffic.
 *
 * Each instance gets one subscriber connection. The node SUBSCRIBEs a channel from the first `subscribe` until
 * `unsubscribe`, and nowhere else. Payloads are Buffers end to end (`messageBuffer`), never decoded.
 *
 * Outages: when any connection drops, `onHealthChange(false)`; on reconnect the broker re-subscribes every channel of
 * that instance and the inbox, and only then reports `true`. While down, `publish`/`sendToNode` reject (nothing is
 * queued to burst out later) and the hub delivers locally. Guarantee: at most once, ordered per instance connection.
 */
export class RedisBroker implements Broker, PublicationCounter {
  private subscribers: Redis[] = [];
  /** Per instance: the subscriber is connected and holds every subscription it should. */
  private restored: boolean[] = [];
  private inboxShard = 0;
  private readonly book = new SubscriptionBook();
  private readonly detach: Array<() => void> = [];

  constructor(private readonly keyspace: ShardedKeyspace) {}

  async start(nodeId: string, handler: BrokerHandler): Promise<void> {
    if (this.book.handler) throw new Error('RedisBroker already started');
    await this.keyspace.connect();
    this.book.handler = handler;
    this.book.inbox = PubSubName.inbox(this.keyspace, nodeId);
    this.inboxShard = this.keyspace.shardOf(RoutingTag.node(nodeId));
    // Resubscription is ours (autoResubscribe off), so we know when it finished and can report health truthfully.
    this.subscribers = this.keyspace.urls.map((_, index) => this.keyspace.duplicate(index, { autoResubscribe: false }));
    this.restored = this.subscribers.map(() => false);
    try {
      await Promise.all(this.subscribers.map((subscriber, index) => connectClient(subscriber, this.keyspace.urls[index]!)));
    } catch (error) {
      // Leave the broker as before, so a later `start` can try again.
      await Promise.all(this.subscribers.map((subscriber) => closeClient(subscriber)));
      this.subscribers = [];
      this.book.handler = null;
      throw error;
    }
    this.subscribers.forEach((subscriber, index) => {
      subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.book.receive(channel, payload));
      this.listen(subscriber, 'close', () => this.lost(index));
      this.listen(subscriber, 'ready', () => void this.restore(index));
    });
    for (const client of this.keyspace.clients()) {
      this.listen(client, 'close', () => this.book.setHealth(false));
      this.listen(client, 'ready', () => this.book.setHealth(this.restored.every(Boolean) && this.keyspace.isHealthy()));
    }
    await Promise.all(this.subscribers.map((_, index) => this.restore(index)));
  }

  private listen(client: Redis, event: 'close' | 'ready', listener: () => void): void {
    client.on(event, listener);
    this.detach.push(() => client.off(event, listener));
  }

  private lost(index: number): void {
    this.restored[index] = false;
    this.book.setHealth(false);
  }

  /** Subscribes everything instance `index` should carry; on failure the next 'ready' tries again. */
  private async restore(index: number): Promise<void> {
    const subscriber = this.subscribers[index];
    const names = this.book.wanted().filter((channel) => this.keyspace.shardOf(RoutingTag.channel(channel)) === index).map((channel) => PubSubName.channel(this.keyspace, channel));
    if (index === this.inboxShard) names.push(this.book.inbox);
    try {
      if (names.length > 0) await subscriber.subscribe(...names);
    } catch {
      return;
    }
    if (subscriber.status !== 'ready') return;
    this.restored[index] = true;
    this.book.setHealth(this.restored.every(Boolean) && this.keyspace.isHealthy());
  }

  private subscriberOf(channel: string): Redis {
    if (!this.book.handler) throw new Error('RedisBroker not started');
    return this.subscribers[this.keyspace.shardOf(RoutingTag.channel(channel))];
  }

  async subscribe(channel: string): Promise<void> {
    const subscriber = this.subscriberOf(channel);
    const name = PubSubName.channel(this.keyspace, channel);
    if (!this.book.want(channel, name)) return;
    // While disconnected the channel stays wanted and `restore` subscribes it on reconnect.
    if (subscriber.status === 'ready') await subscriber.subscribe(name).catch(() => undefined);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.book.handler) return;
    const subscriber = this.subscriberOf(channel);
    const name = PubSubName.channel(this.keyspace, channel);
    if (!this.book.drop(channel, name)) return;
    // While disconnected there is nothing to undo: the new connection will not subscribe it.
    if (subscriber.status === 'ready') await subscriber.unsubscribe(name).catch(() => undefined);
  }

  async publish(channel: string, payload: Buffer): Promise<void> {
    await this.keyspace.client(RoutingTag.channel(channel)).publish(PubSubName.channel(this.keyspace, channel), payload);
    this.book.counters.published++;
  }

  /** Counts a publication `RedisChannelPublisher` sent on this broker's pub/sub. */
  recordPublished(): void {
    this.book.counters.published++;
  }

  async sendToNode(nodeId: string, payload: Buffer): Promise<void> {
    await this.keyspace.client(RoutingTag.node(nodeId)).publish(PubSubName.inbox(this.keyspace, nodeId), payload);
    this.book.counters.inboxSent++;
  }

  isHealthy(): boolean {
    return this.book.isHealthy();
  }

  stats(): BrokerStats {
    return this.book.stats();
  }

  async close(): Promise<void> {
    this.book.reset();
    for (const detach of this.detach.splice(0)) detach();
    await Promise.all(this.subscribers.map((subscriber) => closeClient(subscriber)));
    this.subscribers = [];
  }
}
