/**
 * Broker: moves pre-encoded bytes between nodes. Channel publications go to every node that subscribed to the channel;
 * inbox messages go to exactly one node.
 *
 * Guarantee: at most once, ordered per publisher connection. A node subscribes to a channel only while it has local
 * subscribers, so a publication crosses the broker once per interested node and never reaches a node without listeners.
 * Order across nodes is not this contract's: channel publications go through `ChannelPublisher`, which assigns the
 * offset and publishes in one atomic step per channel (so every node receives them in offset order) on every engine
 * but NATS, where the receiving node re-sequences. `publish` carries frames outside the stream (presence events).
 */
export interface Broker {
  /** Connects and starts delivering to `handler`. Subscribes the node's own inbox. */
  start(nodeId: string, handler: BrokerHandler): Promise<void>;
  /** Starts receiving publications of `channel` on this node. Idempotent. */
  subscribe(channel: string): Promise<void>;
  /** Stops receiving publications of `channel` on this node. Idempotent. */
  unsubscribe(channel: string): Promise<void>;
  /** Sends `payload` (an encoded channel envelope) to every node subscribed to `channel`, this one included. */
  publish(channel: string, payload: Buffer): Promise<void>;
  /** Sends `payload` (an encoded inbox message) to one node's inbox. */
  sendToNode(nodeId: string, payload: Buffer): Promise<void>;
  /** True while the broker connection is up. */
  isHealthy(): boolean;
  /** Counters for observability and the cluster tests. */
  stats(): BrokerStats;
  close(): Promise<void>;
}

export interface BrokerHandler {
  /** A publication (or presence event) for `channel` arrived; `payload` is exactly what `publish` sent. */
  onChannelMessage(channel: string, payload: Buffer): void;
  /** A message for this node's inbox arrived. */
  onInboxMessage(payload: Buffer): void;
  /** The connection went down (`false`) or came back with every subscription restored (`true`). */
  onHealthChange?(healthy: boolean): void;
}

export interface BrokerStats {
  /** Channel publications sent through the broker. */
  published: number;
  /** Channel publications received from the broker. */
  received: number;
  /** Inbox messages sent. */
  inboxSent: number;
  /** Inbox messages received. */
  inboxReceived: number;
  /** Channels this node is subscribed to on the broker right now. */
  subscriptions: number;
}
