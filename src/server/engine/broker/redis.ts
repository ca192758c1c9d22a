import type { Redis } from 'ioredis';
import { connectClient, closeClient, type ShardedKeyspace } from '../keyspace/sharded.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { Broker, BrokerHandler, BrokerStats } from './broker.js';

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
export class RedisBroker implements Broker {
  private handler: BrokerHandler | null = null;
  private subscribers: Redis[] = [];
  /** Per instance: the subscriber is connected and holds every subscription it should. */
  private restored: boolean[] = [];
  private healthy = false;
  private inbox = '';
  private inboxShard = 0;
  /** Channels this node wants, and the pub/sub name of each (Redis name -> channel) for incoming messages. */
  private readonly channels = new Set<string>();
  private readonly channelsByName = new Map<string, string>();
  private readonly counters = { published: 0, received: 0, inboxSent: 0, inboxReceived: 0 };
  private readonly detach: Array<() => void> = [];

  constructor(private readonly keyspace: ShardedKeyspace) {}

  private pubsubName(channel: string): string {
    return this.keyspace.key(RoutingTag.channel(channel), 'pub');
  }

  private inboxName(nodeId: string): string {
    return this.keyspace.key(RoutingTag.node(nodeId), 'inbox');
  }

  async start(nodeId: string, handler: BrokerHandler): Promise<void> {
    if (this.handler) throw new Error('RedisBroker already started');
    await this.keyspace.connect();
    this.handler = handler;
    this.inbox = this.inboxName(nodeId);
    this.inboxShard = this.keyspace.shardOf(RoutingTag.node(nodeId));
    // Resubscription is ours (autoResubscribe off), so we know when it finished and can report health truthfully.
    this.subscribers = this.keyspace.urls.map((_, index) => this.keyspace.duplicate(index, { autoResubscribe: false }));
    this.restored = this.subscribers.map(() => false);
    try {
      await Promise.all(this.subscribers.map((subscriber, index) => connectClient(subscriber, this.keyspace.urls[index])));
    } catch (error) {
      // Leave the broker as before, so a later `start` can try again.
      await Promise.all(this.subscribers.map((subscriber) => closeClient(subscriber)));
      this.subscribers = [];
      this.handler = null;
      throw error;
    }
    this.subscribers.forEach((subscriber, index) => {
      subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.receive(channel, payload));
      this.listen(subscriber, 'close', () => this.lost(index));
      this.listen(subscriber, 'ready', () => void this.restore(index));
    });
    for (const client of this.keyspace.clients()) {
      this.listen(client, 'close', () => this.setHealth(false));
      this.listen(client, 'ready', () => this.setHealth(this.restored.every(Boolean) && this.keyspace.isHealthy()));
    }
    await Promise.all(this.subscribers.map((_, index) => this.restore(index)));
  }

  private listen(client: Redis, event: 'close' | 'ready', listener: () => void): void {
    client.on(event, listener);
    this.detach.push(() => client.off(event, listener));
  }

  private lost(index: number): void {
    this.restored[index] = false;
    this.setHealth(false);
  }

  /** Subscribes everything instance `index` should carry; on failure the next 'ready' tries again. */
  private async restore(index: number): Promise<void> {
    const subscriber = this.subscribers[index];
    const names = [...this.channels].filter((channel) => this.keyspace.shardOf(RoutingTag.channel(channel)) === index).map((channel) => this.pubsubName(channel));
    if (index === this.inboxShard) names.push(this.inbox);
    try {
      if (names.length > 0) await subscriber.subscribe(...names);
    } catch {
      return;
    }
    if (subscriber.status !== 'ready') return;
    this.restored[index] = true;
    this.setHealth(this.restored.every(Boolean) && this.keyspace.isHealthy());
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
    // A publication already in flight when we unsubscribed is dropped here.
    if (channel === undefined || !this.channels.has(channel)) return;
    this.counters.received++;
    handler.onChannelMessage(channel, payload);
  }

  private subscriberOf(channel: string): Redis {
    if (!this.handler) throw new Error('RedisBroker not started');
    return this.subscribers[this.keyspace.shardOf(RoutingTag.channel(channel))];
  }

  async subscribe(channel: string): Promise<void> {
    if (this.channels.has(channel)) return;
    const subscriber = this.subscriberOf(channel);
    const name = this.pubsubName(channel);
    this.channels.add(channel);
    this.channelsByName.set(name, channel);
    // While disconnected the channel stays wanted and `restore` subscribes it on reconnect.
    if (subscriber.status === 'ready') await subscriber.subscribe(name).catch(() => undefined);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.channels.has(channel)) return;
    const subscriber = this.subscriberOf(channel);
    const name = this.pubsubName(channel);
    this.channels.delete(channel);
    this.channelsByName.delete(name);
    // While disconnected there is nothing to undo: the new connection will not subscribe it.
    if (subscriber.status === 'ready') await subscriber.unsubscribe(name).catch(() => undefined);
  }

  async publish(channel: string, payload: Buffer): Promise<void> {
    await this.keyspace.client(RoutingTag.channel(channel)).publish(this.pubsubName(channel), payload);
    this.counters.published++;
  }

  async sendToNode(nodeId: string, payload: Buffer): Promise<void> {
    await this.keyspace.client(RoutingTag.node(nodeId)).publish(this.inboxName(nodeId), payload);
    this.counters.inboxSent++;
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  stats(): BrokerStats {
    return { ...this.counters, subscriptions: this.channels.size };
  }

  async close(): Promise<void> {
    this.handler = null;
    for (const detach of this.detach.splice(0)) detach();
    await Promise.all(this.subscribers.map((subscriber) => closeClient(subscriber)));
    this.subscribers = [];
    this.channels.clear();
    this.channelsByName.clear();
    this.healthy = false;
  }
}
