import { connect, Events, type ConnectionOptions, type Msg, type NatsConnection, type NatsError, type Subscription } from 'nats';
import type { Broker, BrokerHandler, BrokerStats } from './broker.js';
import { channelSubject, inboxSubject } from './nats-subject.js';

export interface NatsBrokerOptions {
  /** NATS server URLs; the client fails over between them. */
  servers: readonly string[];
  /** Prefix of every subject, so several deployments can share a NATS server. */
  prefix: string;
  /** Called with connection errors (they never crash the node). */
  onError?: (error: Error) => void;
  /** Extra connection options (tests shorten reconnect delays). */
  connectionOptions?: Partial<ConnectionOptions>;
}

/**
 * Broker on NATS core subjects: `<prefix>.c.<channel token>` per channel and `<prefix>.n.<node token>` per node inbox
 * (see `subjectToken`). The node holds a subscription for a channel from the first `subscribe` until `unsubscribe`;
 * each change is flushed, so when the call resolves the server routes accordingly.
 *
 * Outages: on disconnect `onHealthChange(false)`; the client reconnects forever, re-sends every subscription, and
 * after a flush confirms the server has them the broker reports `true`. Publications made while disconnected are
 * buffered by the client (bounded) and sent on reconnect. Guarantee: at most once, ordered per publisher connection.
 */
export class NatsBroker implements Broker {
  private connection: NatsConnection | null = null;
  private handler: BrokerHandler | null = null;
  private healthy = false;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly counters = { published: 0, received: 0, inboxSent: 0, inboxReceived: 0 };

  constructor(private readonly options: NatsBrokerOptions) {
    if (options.servers.length === 0) throw new Error('NatsBroker needs at least one NATS URL');
  }

  async start(nodeId: string, handler: BrokerHandler): Promise<void> {
    if (this.handler) throw new Error('NatsBroker already started');
    this.handler = handler;
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: [...this.options.servers],
        name: `wsgate ${nodeId}`,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        ...this.options.connectionOptions,
      });
    } catch (error) {
      this.handler = null;
      throw new Error(`cannot connect to NATS at ${this.options.servers.join(', ')}: ${(error as Error).message}`, { cause: error });
    }
    this.connection = connection;
    void this.watchStatus(connection);
    void connection.closed().then((error) => {
      if (error) this.options.onError?.(error);
      this.setHealth(false);
    });
    connection.subscribe(inboxSubject(this.options.prefix, nodeId), {
      callback: (error, message) => {
        if (error) return this.options.onError?.(error);
        this.counters.inboxReceived++;
        this.handler?.onInboxMessage(asBuffer(message));
      },
    });
    await connection.flush();
    this.setHealth(true);
  }

  private async watchStatus(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === Events.Disconnect) this.setHealth(false);
      else if (status.type === Events.Reconnect) {
        // The client re-sent every SUB on reconnect; a flush round trip proves the server has processed them.
        try {
          await connection.flush();
          this.setHealth(true);
        } catch (error) {
          this.options.onError?.(error as Error);
        }
      } else if (status.type === Events.Error) this.options.onError?.(new Error(String(status.data)));
    }
  }

  private setHealth(healthy: boolean): void {
    if (healthy === this.healthy || !this.handler) return;
    this.healthy = healthy;
    this.handler.onHealthChange?.(healthy);
  }

  private open(): NatsConnection {
    if (!this.connection || this.connection.isClosed()) throw new Error('NatsBroker is not connected');
    return this.connection;
  }

  async subscribe(channel: string): Promise<void> {
    const connection = this.open();
    if (this.subscriptions.has(channel)) return;
    const subscription = connection.subscribe(channelSubject(this.options.prefix, channel), {
      callback: (error: NatsError | null, message: Msg) => {
        if (error) return this.options.onError?.(error);
        // A message already in flight when we unsubscribed is dropped.
        if (this.subscriptions.get(channel) !== subscription) return;
        this.counters.received++;
        this.handler?.onChannelMessage(channel, asBuffer(message));
      },
    });
    this.subscriptions.set(channel, subscription);
    await this.flushIfConnected(connection);
  }

  async unsubscribe(channel: string): Promise<void> {
    const subscription = this.subscriptions.get(channel);
    if (!subscription) return;
    this.subscriptions.delete(channel);
    subscription.unsubscribe();
    if (this.connection) await this.flushIfConnected(this.connection);
  }

  /** While disconnected the change is applied on reconnect; waiting for a flush would block until then. */
  private async flushIfConnected(connection: NatsConnection): Promise<void> {
    if (this.healthy && !connection.isClosed()) await connection.flush().catch(() => undefined);
  }

  async publish(channel: string, payload: Buffer): Promise<void> {
    this.open().publish(channelSubject(this.options.prefix, channel), payload);
    this.counters.published++;
  }

  async sendToNode(nodeId: string, payload: Buffer): Promise<void> {
    this.open().publish(inboxSubject(this.options.prefix, nodeId), payload);
    this.counters.inboxSent++;
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  stats(): BrokerStats {
    return { ...this.counters, subscriptions: this.subscriptions.size };
  }

  async close(): Promise<void> {
    const connection = this.connection;
    const wasHealthy = this.healthy;
    this.handler = null;
    this.connection = null;
    this.subscriptions.clear();
    this.healthy = false;
    if (!connection || connection.isClosed()) return;
    // Drain delivers what is in flight, but needs the server; while disconnected, close at once.
    if (wasHealthy) await connection.drain().catch(() => connection.close());
    else await connection.close();
  }
}

/** A Buffer view of the message bytes (no copy), as the handler contract wants Buffers. */
function asBuffer(message: Msg): Buffer {
  const data = message.data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
