import type { LostFrame, StreamPosition } from '../../protocol/frames.js';
import type { Broker } from '../engine/broker/broker.js';
import { decodeChannelEnvelope } from '../codec/broker-envelope.js';
import { encodeNodeFrame, publicationFrame } from '../codec/node-frames.js';
import { PreparedFrame } from '../codec/prepared-frame.js';
import type { Logger } from '../observability/logger.js';
import type { Session } from '../session/session.js';
import {
  ChannelSequencer, SequencerStats, SYSTEM_TIMERS, type SequencerOptions, type SequencerTimers, type StreamReader,
} from './channel-sequencer.js';

interface LocalChannel {
  subscribers: Set<Session>;
  /** Resolves when the node's broker subscription for the channel is in place and the sequencer is anchored. */
  ready: Promise<void>;
  sequencer: ChannelSequencer;
  /**
   * Subscribers whose `subscribed` reply lies ahead of what the sequencer has delivered (or in another epoch): they get
   * nothing at or below it. Entries go once the sequencer passes them; null while there are none (the usual case).
   */
  floors: Map<Session, StreamPosition> | null;
}

/** How the hub keeps each channel in order: the store it anchors and fills from, its bounds, its clock. */
export interface HubOrdering {
  streams: StreamReader;
  options: SequencerOptions;
  timers?: SequencerTimers;
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
  readonly ordering = new SequencerStats();

  constructor(
    private readonly broker: Broker,
    private readonly sequencing: HubOrdering,
    private readonly logger: Logger,
    private readonly observer?: LocalChannelObserver,
  ) {}

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

  /**
   * Adds a local subscriber; the first one subscribes the node on the broker (and tells the observer). The caller
   * reads the subscriber's position after this resolves and hands it to `setFloor` before the `subscribed` reply.
   */
  addSubscriber(channel: string, session: Session): Promise<void> {
    let local = this.channels.get(channel);
    if (!local) local = this.hold(channel);
    local.subscribers.add(session);
    return local.ready;
  }

  /**
   * Subscribe vs. publications in flight: a publication may be appended before the broker subscription is in place
   * and arrive after it (NATS: append and publish are two steps), or be appended later and arrive before the anchor
   * read answers. So the sequencer's anchor is the store's position read only once the subscription is in place: every
   * offset above it is published after that and reaches this node (at most once); what arrives before the answer is
   * held and sorted against it. Each subscriber's own position (its `subscribed` reply) is read after the anchor, so it
   * is at or above it; the first publication seen is never taken as the baseline, since an older one may still be on
   * its way and a subscriber may be owed it. Only when the store cannot be read does the sequencer fall back to the
   * first subscriber position or the lowest publication seen; a subscriber below that is told `lost` (`setFloor`).
   */
  private hold(channel: string): LocalChannel {
    const local: LocalChannel = { subscribers: new Set(), ready: Promise.resolve(), sequencer: null as unknown as ChannelSequencer, floors: null };
    local.sequencer = new ChannelSequencer(
      channel,
      { publication: (position, frame, exclude) => this.fanOut(channel, local, publicationFrame(frame, position), exclude), lost: (epoch, from, to) => this.announceLost(channel, local, epoch, from, to) },
      this.sequencing.streams,
      this.sequencing.options,
      this.ordering,
      this.sequencing.timers ?? SYSTEM_TIMERS,
      (error) => this.logger.warn({ err: error, channel }, 'could not read the channel stream to put it in order'),
    );
    const subscribed = this.broker.subscribe(channel);
    subscribed.catch((error: unknown) => this.logger.warn({ err: error, channel }, 'broker subscribe failed'));
    local.ready = subscribed.then(() => this.sequencing.streams.position(channel).then(
      (position) => local.sequencer.anchor(position),
      (error: unknown) => {
        this.logger.warn({ err: error, channel }, 'could not read the channel position; ordering anchors on the first publication');
        local.sequencer.anchor(null);
      },
    ));
    this.channels.set(channel, local);
    this.observer?.held(channel);
    return local;
  }

  /**
   * The position a subscriber's `subscribed` reply reported: it gets nothing at or below it, and everything above it
   * in order. Call after its position was read and before its pending frames are released.
   */
  setFloor(channel: string, session: Session, floor: StreamPosition): void {
    const local = this.channels.get(channel);
    if (!local?.subscribers.has(session)) return;
    local.sequencer.anchor(floor);
    if (local.sequencer.hasRetired(floor.epoch)) {
      session.deliver(channel, lostFrame(channel, floor.epoch, floor.offset + 1, null));
      return;
    }
    const delivered = local.sequencer.position;
    if (delivered && delivered.epoch === floor.epoch) {
      // Below where the sequencer started (it could not read the store): those offsets will not come.
      if (floor.offset < delivered.base) session.deliver(channel, lostFrame(channel, floor.epoch, floor.offset + 1, delivered.base));
      if (delivered.offset >= floor.offset) return;
    }
    (local.floors ??= new Map()).set(session, floor);
  }

  /** After a broker reconnect or store restart: each channel catches up with its stream (fills or declares the gap). */
  resync(): Promise<void> {
    return Promise.all([...this.channels.values()].map((local) => local.sequencer.resync())).then(() => undefined);
  }

  /** Removes a local subscriber; the last one removes the channel and the node's broker subscription. */
  removeSubscriber(channel: string, session: Session): void {
    const local = this.channels.get(channel);
    if (!local || !local.subscribers.delete(session)) return;
    local.floors?.delete(session);
    if (local.subscribers.size === 0) {
      this.channels.delete(channel);
      local.sequencer.close();
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

  /** The receive path: publications go through the channel's sequencer, presence events straight to the subscribers. */
  onChannelMessage(channel: string, payload: Buffer): void {
    const local = this.channels.get(channel);
    if (!local) return;
    const envelope = decodeChannelEnvelope(payload);
    if (!envelope) {
      this.logger.warn({ channel }, 'dropped a broker message that is not an envelope');
      return;
    }
    if (envelope.position) local.sequencer.push(envelope.position, envelope.frame, envelope.excludeSession);
    else this.fanOut(channel, local, new PreparedFrame(envelope.frame, envelope.kind), envelope.excludeSession);
  }

  /** The fan-out: one prepared frame, the same bytes queued for every local subscriber not excluded or below its floor. */
  private fanOut(channel: string, local: LocalChannel, frame: PreparedFrame, exclude: string | null): void {
    const position = frame.position;
    const floors = position ? local.floors : null;
    let delivered = 0;
    for (const session of local.subscribers) {
      if (session.id === exclude) continue;
      if (floors !== null) {
        const floor = floors.get(session);
        if (floor && (floor.epoch !== position!.epoch || position!.offset <= floor.offset)) continue;
      }
      session.deliver(channel, frame);
      delivered++;
    }
    if (floors !== null) passFloors(local, position!.epoch, position!.offset);
    this.stats.publications++;
    this.stats.deliveries += delivered;
  }

  /** A `lost` range to every subscriber, each clipped to what lies above its floor. */
  private announceLost(channel: string, local: LocalChannel, epoch: string, from: number, to: number | null): void {
    let shared: PreparedFrame | undefined;
    for (const session of local.subscribers) {
      const floor = local.floors?.get(session);
      let start = from;
      if (floor) {
        if (floor.epoch !== epoch || (to !== null && to <= floor.offset)) continue;
        start = Math.max(from, floor.offset + 1);
      }
      session.deliver(channel, start === from ? (shared ??= lostFrame(channel, epoch, from, to)) : lostFrame(channel, epoch, start, to));
    }
    if (local.floors) passFloors(local, epoch, to ?? Number.POSITIVE_INFINITY);
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

/** Drops the floors the sequencer has passed in `epoch`. */
function passFloors(local: LocalChannel, epoch: string, through: number): void {
  for (const [session, floor] of local.floors!) if (floor.epoch === epoch && floor.offset <= through) local.floors!.delete(session);
  if (local.floors!.size === 0) local.floors = null;
}

function lostFrame(channel: string, epoch: string, from: number, to: number | null): PreparedFrame {
  const frame: LostFrame = { type: 'lost', channel, epoch, from, to };
  return encodeNodeFrame(frame);
}
