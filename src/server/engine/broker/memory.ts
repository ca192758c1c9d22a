import type { Broker, BrokerHandler, BrokerStats } from './broker.js';

/**
 * An in-process bus. Every memory broker attached to the same bus behaves like a node of one cluster, which lets
 * several nodes share a process (tests, embedded use). Delivery is asynchronous (a microtask) like a real broker.
 */
export class MemoryBus {
  readonly nodes = new Map<string, MemoryBroker>();
  readonly channelNodes = new Map<string, Set<MemoryBroker>>();
}

export class MemoryBroker implements Broker {
  private nodeId = '';
  private handler: BrokerHandler | null = null;
  private readonly channels = new Set<string>();
  private readonly counters: BrokerStats = { published: 0, received: 0, inboxSent: 0, inboxReceived: 0, subscriptions: 0 };

  constructor(private readonly bus: MemoryBus = new MemoryBus()) {}

  async start(nodeId: string, handler: BrokerHandler): Promise<void> {
    this.nodeId = nodeId;
    this.handler = handler;
    this.bus.nodes.set(nodeId, this);
  }

  async subscribe(channel: string): Promise<void> {
    if (this.channels.has(channel)) return;
    this.channels.add(channel);
    let nodes = this.bus.channelNodes.get(channel);
    if (!nodes) this.bus.channelNodes.set(channel, (nodes = new Set()));
    nodes.add(this);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.channels.delete(channel)) return;
    const nodes = this.bus.channelNodes.get(channel);
    nodes?.delete(this);
    if (nodes?.size === 0) this.bus.channelNodes.delete(channel);
  }

  async publish(channel: string, payload: Buffer): Promise<void> {
    this.publishNow(channel, payload);
  }

  /** `publish`, synchronously: deliveries are queued in call order, so publications keep the order they were made in. */
  publishNow(channel: string, payload: Buffer): void {
    this.counters.published++;
    const nodes = this.bus.channelNodes.get(channel);
    if (!nodes) return;
    for (const node of nodes) {
      queueMicrotask(() => node.receiveChannel(channel, payload));
    }
  }

  async sendToNode(nodeId: string, payload: Buffer): Promise<void> {
    this.counters.inboxSent++;
    const node = this.bus.nodes.get(nodeId);
    if (node) queueMicrotask(() => node.receiveInbox(payload));
  }

  private receiveChannel(channel: string, payload: Buffer): void {
    if (!this.channels.has(channel) || !this.handler) return;
    this.counters.received++;
    this.handler.onChannelMessage(channel, payload);
  }

  private receiveInbox(payload: Buffer): void {
    if (!this.handler) return;
    this.counters.inboxReceived++;
    this.handler.onInboxMessage(payload);
  }

  isHealthy(): boolean {
    return true;
  }

  stats(): BrokerStats {
    return { ...this.counters, subscriptions: this.channels.size };
  }

  async close(): Promise<void> {
    for (const channel of [...this.channels]) await this.unsubscribe(channel);
    if (this.bus.nodes.get(this.nodeId) === this) this.bus.nodes.delete(this.nodeId);
    this.handler = null;
  }
}
