import type { ClientInfo } from '../engine/registry/registry.js';
import type { WebhookEventType } from '../../protocol/webhook-events.js';
import { EventKey, newEventId, type KeyedEvent, type WebhookEvent } from './events.js';

/** What the node knows of a session when it reports on it. */
export interface SessionFacts {
  session: string;
  user: string | null;
  /** Epoch milliseconds. */
  connectedAt: number;
  client: ClientInfo;
  /** How it authenticated (ticket, jwt, cookie, anonymous), when known. */
  auth?: string;
  /** The negotiated WebSocket subprotocol, when known. */
  protocol?: string;
}

/** Where emitted events go (the webhook outbox). */
export interface EventSink {
  emit(event: KeyedEvent): void;
}

/**
 * The one place the node reports lifecycle events: session, user, channel, presence and publication events are built
 * here, with their ordering key and transition number, and handed to the webhook outbox. Callers report facts they
 * decided (a transition comes with the number the engine gave it); nothing here decides whether a transition
 * happened. Types no endpoint wants are not even built.
 */
export class LifecycleEvents {
  /** In-process listeners (the console's live tail): they get every type, whatever the endpoints want. */
  private readonly taps = new Set<(event: WebhookEvent) => void>();

  constructor(
    private readonly nodeId: string,
    private readonly sink: EventSink | null,
    private readonly wanted: ReadonlySet<WebhookEventType>,
  ) {}

  /** False when no endpoint is configured and nothing taps: callers may skip work that only serves events. */
  get enabled(): boolean {
    return (this.sink !== null && this.wanted.size > 0) || this.taps.size > 0;
  }

  wants(type: WebhookEventType): boolean {
    return (this.sink !== null && this.wanted.has(type)) || this.taps.size > 0;
  }

  /** Calls `listener` with every event this node reports from now on; returns the function that stops it. */
  tap(listener: (event: WebhookEvent) => void): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }

  sessionConnected(facts: SessionFacts): void {
    this.emit('session.connected', EventKey.ofSession(facts.session, facts.user), () => ({
      session: facts.session, user: facts.user, connectedAt: new Date(facts.connectedAt).toISOString(), client: facts.client,
      ...(facts.auth ? { auth: facts.auth } : {}), ...(facts.protocol ? { protocol: facts.protocol } : {}),
    }));
  }

  /** `code` is null when the node that held the session died (its purge reports the end). */
  sessionDisconnected(facts: SessionFacts, code: number | null, reason: string): void {
    this.emit('session.disconnected', EventKey.ofSession(facts.session, facts.user), () => ({
      session: facts.session, user: facts.user, code, reason, durationMs: Math.max(0, Date.now() - facts.connectedAt),
    }));
  }

  /** The gateway ended the session for how it behaved or by policy (slow consumer, rate limit, kick, bad frames). */
  sessionEvicted(facts: SessionFacts, code: number, cause: string, reason: string): void {
    this.emit('session.evicted', EventKey.ofSession(facts.session, facts.user), () => ({
      session: facts.session, user: facts.user, code, cause, reason, client: facts.client,
    }));
  }

  userOnline(user: string, session: string, seq: number): void {
    this.emit('user.online', EventKey.user(user), () => ({ user, session, seq }), seq);
  }

  userOffline(user: string, session: string, seq: number): void {
    this.emit('user.offline', EventKey.user(user), () => ({ user, session, seq }), seq);
  }

  channelOccupied(channel: string, seq: number): void {
    this.emit('channel.occupied', EventKey.channel(channel), () => ({ channel, seq }), seq);
  }

  channelVacated(channel: string, seq: number): void {
    this.emit('channel.vacated', EventKey.channel(channel), () => ({ channel, seq }), seq);
  }

  /** `seq` numbers the channel's presence transitions (every user's joins and leaves together). */
  presenceJoined(channel: string, user: string, session: string, seq: number): void {
    this.emit('presence.joined', EventKey.channel(channel), () => ({ channel, user, session, seq }), seq);
  }

  presenceLeft(channel: string, user: string, session: string, seq: number): void {
    this.emit('presence.left', EventKey.channel(channel), () => ({ channel, user, session, seq }), seq);
  }

  /** A client's publication; `dataJson` is the data as JSON text. */
  channelPublished(channel: string, position: { offset: number; epoch: string }, from: { user: string | null; session: string }, dataJson: string): void {
    this.emit('channel.published', EventKey.channel(channel), () => ({
      channel, offset: position.offset, epoch: position.epoch, user: from.user, session: from.session, data: JSON.parse(dataJson) as unknown,
    }));
  }

  /** A subscriber of a cache channel found no event to be given (it was sent `pusher:cache_miss`). */
  channelCacheMiss(channel: string): void {
    this.emit('channel.cache_miss', EventKey.channel(channel), () => ({ channel }));
  }

  /** The channel's subscriber count across the cluster changed, as read after a change on this node. */
  channelSubscriptionCount(channel: string, subscribers: number): void {
    this.emit('channel.subscription_count', EventKey.channel(channel), () => ({ channel, subscribers }));
  }

  private emit(type: WebhookEventType, key: string, data: () => Record<string, unknown>, seq?: number): void {
    const toSink = this.sink !== null && this.wanted.has(type);
    if (!toSink && this.taps.size === 0) return;
    const now = Date.now();
    const event: WebhookEvent = { id: newEventId(now), type, timestamp: new Date(now).toISOString(), node: this.nodeId, data: data() };
    if (toSink) this.sink!.emit({ key, ...(seq === undefined ? {} : { seq }), event });
    for (const tap of this.taps) tap(event);
  }
}
