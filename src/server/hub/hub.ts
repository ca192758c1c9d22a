import type { Broker } from '../engine/broker/broker.js';
import { decodeChannelEnvelope } from '../engine/envelope.js';
import type { Logger } from '../observability/logger.js';
import type { Session } from '../session/session.js';
import { PreparedFrame } from '../transport/prepared-frame.js';

interface LocalChannel {
  subscribers: Set<Session>;
  /** Resolves when the node's broker subscription for the channel is in place. */
  ready: Promise<void>;
}

/** Told when the node starts and stops holding a channel (its first local subscriber came, its last one left). */
export interface LocalChannelObserver {
  held(channel: string): void;
  released(channel: string): void;
}

export interface HubDeliveryStats {
  deliveries: number;
  publications: number;
}

/**
 * The node's local index: sessions by id, by user and by channel. A channel exists here while it has local
 * subscribers; the node holds the broker subscription for exactly that long.
 */
export class Hub {
  readonly sessions = new Map<string, Session>();
  /** user -> sessions; an array, since most users hold one or two and a Set per user costs more heap. */
  private readonly users = new Map<string, Session[]>();
  private readonly channels = new Map<string, LocalChannel>();
  readonly stats: HubDeliveryStats = { deliveries: 0, publications: 0 };

  constructor(private readonly broker: Broker, private readonly logger: Logger, private readonly observer?: LocalChannelObserver) {}

  addSession(session: Session): void {
    this.sessions.set(session.id, session);
    if (session.user !== null) {
      const sessions = this.users.get(session.user);
      if (sessions) sessions.push(session);
      else this.users.set(session.user, [session]);
    }
  }

  /** Removes the session from every index; returns the channels it was subscribed to. */
  removeSession(session: Session): string[] {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    if (session.user !== null) {
      const sessions = this.users.get(session.user);
      const index = sessions?.indexOf(session) ?? -1;
      if (index !== -1) sessions!.splice(index, 1);
      if (sessions?.length === 0) this.users.delete(session.user);
    }
    const channels = [...session.subscriptions.keys()];
    for (const channel of channels) this.removeSubscriber(channel, session);
    return channels;
  }

  userSessions(user: string): readonly Session[] {
    return this.users.get(user) ?? EMPTY;
  }

  get userCount(): number {
    return this.users.size;
  }

  /** Adds a local subscriber; the first one subscribes the node on the broker (and tells the observer). */
  addSubscriber(channel: string, session: Session): Promise<void> {
    let local = this.channels.get(channel);
    if (!local) {
      const ready = this.broker.subscribe(channel);
      local = { subscribers: new Set(), ready };
      this.channels.set(channel, local);
      ready.catch((error: unknown) => this.logger.warn({ err: error, channel }, 'broker subscribe failed'));
      this.observer?.held(channel);
    }
    local.subscribers.add(session);
    return local.ready;
  }

  /** Removes a local subscriber; the last one removes the channel and the node's broker subscription. */
  removeSubscriber(channel: string, session: Session): void {
    const local = this.channels.get(channel);
    if (!local || !local.subscribers.delete(session)) return;
    if (local.subscribers.size === 0) {
      this.channels.delete(channel);
      this.broker.unsubscribe(channel).catch((error: unknown) => this.logger.warn({ err: error, channel }, 'broker unsubscribe failed'));
      this.observer?.released(channel);
    }
  }

  subscriberCount(channel: string): number {
    return this.channels.get(channel)?.subscribers.size ?? 0;
  }

  channelNames(): IterableIterator<string> {
    return this.channels.keys();
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** The fan-out path: one decoded envelope, one prepared frame, the same bytes queued for every local subscriber. */
  onChannelMessage(channel: string, payload: Buffer): void {
    const local = this.channels.get(channel);
    if (!local) return;
    const envelope = decodeChannelEnvelope(payload);
    if (!envelope) {
      this.logger.warn({ channel }, 'dropped a broker message that is not an envelope');
      return;
    }
    const frame = new PreparedFrame(envelope.frame);
    const exclude = envelope.excludeSession;
    let delivered = 0;
    for (const session of local.subscribers) {
      if (session.id === exclude) continue;
      session.deliver(channel, frame);
      delivered++;
    }
    this.stats.publications++;
    this.stats.deliveries += delivered;
  }

  /** Delivers a frame to the local sessions of a user; returns how many got it. */
  deliverToUser(user: string, frame: PreparedFrame, exclude?: string): number {
    let delivered = 0;
    for (const session of this.userSessions(user)) {
      if (session.id === exclude) continue;
      session.enqueue(frame);
      delivered++;
    }
    this.stats.deliveries += delivered;
    return delivered;
  }
}

const EMPTY: readonly Session[] = [];
