import type { LostFrame, StreamPosition } from '../../protocol/frames.js';
import type { Broker } from '../engine/broker/broker.js';
import { decodeChannelEnvelope } from '../codec/broker-envelope.js';
import { encodeNodeFrame, publicationFrame } from '../codec/node-frames.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { Session } from '../session/session.js';
import { PreparedFrame } from '../codec/prepared-frame.js';
import { FrameRun } from '../session/frame-run.js';
import {
  ChannelSequencer, SequencerStats, SYSTEM_TIMERS, type SequencerOptions, type SequencerTimers, type StreamReader,
} from './channel-sequencer.js';

interface HeldChannel {
  /** The hub's subscriber set of the channel: the same object for as long as the node holds the channel. */
  subscribers: ReadonlySet<Session>;
  /** Resolves when the node's broker subscription for the channel is in place and the sequencer is anchored. */
  ready: Promise<void>;
  sequencer: ChannelSequencer;
  /**
   * Subscribers whose `subscribed` reply lies ahead of what the sequencer has delivered (or in another epoch): they get
   * nothing at or below it. Entries go once the sequencer passes them; null while there are none (the usual case).
   */
  floors: Map<Session, StreamPosition> | null;
  /** Something was delivered (or the channel was just held, or resynced) since the last tail check. */
  active: boolean;
  /** Activity since the channel's last stream read: it is read once it has been quiet for a whole tail check. */
  owesCheck: boolean;
  /** The frames fanned out in this turn that subscribers with nothing else queued share (FrameRun); null when none ride. */
  run: FrameRun | null;
}

/** A run longer than this is left to its riders and a new one begins: a run lives for a turn, this bounds a long one. */
const MAX_RUN_FRAMES = 1024;

/** How the node keeps each channel in order: the store it anchors and fills from, its bounds, its clock. */
export interface ChannelOrdering {
  streams: StreamReader;
  options: SequencerOptions;
  timers?: SequencerTimers;
}

/** Told when the node starts and stops holding a channel (its first local subscriber came, its last one left). */
export interface LocalChannelObserver {
  held(channel: string): void;
  released(channel: string): void;
}

/** What the node delivered locally: frames queued for sessions, publications fanned out. */
export interface DeliveryCounters {
  deliveries: number;
  publications: number;
}

/**
 * The node's interest in channels, as centrifuge's `Node.addSubscription` decides it: the first local subscriber of a
 * channel subscribes the node on the broker and starts the channel's sequencer, the last one ends both. Publications
 * the broker hands back are put in offset order and fanned out to the subscribers the hub lists.
 */
export class LocalSubscriptions {
  private readonly held = new Map<string, HeldChannel>();
  readonly ordering = new SequencerStats();
  private tailTimer: unknown = null;

  constructor(
    private readonly hub: Hub,
    private readonly broker: Broker,
    private readonly sequencing: ChannelOrdering,
    private readonly counters: DeliveryCounters,
    private readonly logger: Logger,
    private readonly observer?: LocalChannelObserver,
    /** Told of every change of a channel's local subscriber count (subscription_count webhooks). */
    private readonly counted?: { changed(channel: string): void },
  ) {}

  /**
   * Adds a local subscriber; the first one subscribes the node on the broker (and tells the observer). The caller
   * reads the subscriber's position after this resolves and hands it to `setFloor` before the `subscribed` reply.
   */
  addLocalSubscriber(channel: string, session: Session): Promise<void> {
    const created = this.hub.addSubscriber(channel, session);
    this.counted?.changed(channel);
    if (created) return this.hold(channel, created).ready;
    return this.held.get(channel)!.ready;
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
  private hold(channel: string, subscribers: ReadonlySet<Session>): HeldChannel {
    const local: HeldChannel = {
      subscribers, ready: Promise.resolve(), sequencer: null as unknown as ChannelSequencer, floors: null, active: true, owesCheck: true, run: null,
    };
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
    this.held.set(channel, local);
    this.observer?.held(channel);
    this.armTailCheck();
    return local;
  }

  /**
   * The broker tells of a gap only when a later publication arrives; nothing follows the last one of a burst. So a
   * channel that had activity and then a whole `tailCheckMs` without a delivery reads its stream position once: what
   * the broker dropped (NATS is at most once; a reconnect loses what was in flight) is filled from history, or
   * announced lost. Channels that stay quiet are read no more; one timer serves every channel of the node.
   */
  private armTailCheck(): void {
    const every = this.sequencing.options.tailCheckMs ?? 0;
    if (every <= 0 || this.tailTimer !== null || this.held.size === 0) return;
    const timers = this.sequencing.timers ?? SYSTEM_TIMERS;
    this.tailTimer = timers.setTimeout(() => {
      this.tailTimer = null;
      this.checkTails();
      this.armTailCheck();
    }, every);
  }

  private checkTails(): void {
    for (const local of this.held.values()) {
      if (local.active) {
        local.active = false;
        local.owesCheck = true;
      } else if (local.owesCheck) {
        local.owesCheck = false;
        void local.sequencer.resync();
      }
    }
  }

  /**
   * The position a subscriber's `subscribed` reply reported: it gets nothing at or below it, and everything above it
   * in order. Call after its position was read and before its pending frames are released.
   */
  setFloor(channel: string, session: Session, floor: StreamPosition): void {
    const local = this.held.get(channel);
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
    const held = [...this.held.values()];
    // What was still in flight when the broker came back may be lost too: each channel is read again once quiet.
    for (const local of held) local.active = local.owesCheck = true;
    return Promise.all(held.map((local) => local.sequencer.resync())).then(() => undefined);
  }

  /** Removes a local subscriber; the last one ends the channel's sequencer and the node's broker subscription. */
  removeLocalSubscriber(channel: string, session: Session): void {
    const local = this.held.get(channel);
    // Not a subscriber (a subscribe that failed before it was listed): nothing changed, nothing to count.
    if (!local?.subscribers.has(session)) return;
    local.floors?.delete(session);
    // A rider must not ride on: what it rode becomes its own, the channel's later frames are not its.
    if (local.run !== null) session.leaveRunOf(local.run);
    const last = this.hub.removeSubscriber(channel, session);
    this.counted?.changed(channel);
    if (!last) return;
    this.held.delete(channel);
    local.sequencer.close();
    this.broker.unsubscribe(channel).catch((error: unknown) => this.logger.warn({ err: error, channel }, 'broker unsubscribe failed'));
    this.observer?.released(channel);
  }

  /** The receive path: publications go through the channel's sequencer, presence events straight to the subscribers. */
  onChannelMessage(channel: string, payload: Buffer): void {
    const local = this.held.get(channel);
    if (!local) return;
    const envelope = decodeChannelEnvelope(payload);
    if (!envelope) {
      this.logger.warn({ channel }, 'dropped a broker message that is not an envelope');
      return;
    }
    if (envelope.position) local.sequencer.push(envelope.position, envelope.frame, envelope.excludeSession);
    else this.fanOut(channel, local, new PreparedFrame(envelope.frame, envelope.kind), envelope.excludeSession);
  }

  /**
   * The fan-out: one prepared frame, the same bytes for every local subscriber not excluded or below its floor. While
   * every subscriber rides the channel's run of this turn, that is one append; otherwise each subscriber is visited,
   * and those with nothing else queued join the run (the frame is appended after the visit, so a subscriber that
   * joins now gets it, and one that left, excluded or below its floor, does not).
   */
  private fanOut(channel: string, local: HeldChannel, frame: PreparedFrame, exclude: string | null): void {
    const position = frame.position;
    const floors = position ? local.floors : null;
    // The sender a client publication excludes, as this node's session: found once, compared by identity below.
    const excluded = exclude === null ? undefined : this.hub.sessions.get(exclude);
    let run = local.run;
    if (
      run !== null && run.riders > 0 && run.riders === local.subscribers.size && floors === null && run.frames.length < MAX_RUN_FRAMES &&
      !(excluded !== undefined && local.subscribers.has(excluded))
    ) {
      run.append(frame);
      this.countFanOut(local, run.riders);
      return;
    }
    if (run === null || run.riders === 0 || run.frames.length >= MAX_RUN_FRAMES) run = local.run = new FrameRun();
    let delivered = 0;
    for (const session of local.subscribers) {
      if (session === excluded) {
        session.leaveRunOf(run);
        continue;
      }
      if (floors !== null) {
        const floor = floors.get(session);
        if (floor && (floor.epoch !== position!.epoch || position!.offset <= floor.offset)) {
          session.leaveRunOf(run);
          continue;
        }
      }
      session.deliverWithRun(channel, frame, run);
      delivered++;
    }
    if (run.riders > 0) run.append(frame);
    else local.run = null;
    if (floors !== null) passFloors(local, position!.epoch, position!.offset);
    this.countFanOut(local, delivered);
  }

  private countFanOut(local: HeldChannel, delivered: number): void {
    local.active = true;
    this.counters.publications++;
    this.counters.deliveries += delivered;
  }

  /** A `lost` range to every subscriber, each clipped to what lies above its floor. */
  private announceLost(channel: string, local: HeldChannel, epoch: string, from: number, to: number | null): void {
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
}

/** Drops the floors the sequencer has passed in `epoch`. */
function passFloors(local: HeldChannel, epoch: string, through: number): void {
  for (const [session, floor] of local.floors!) if (floor.epoch === epoch && floor.offset <= through) local.floors!.delete(session);
  if (local.floors!.size === 0) local.floors = null;
}

function lostFrame(channel: string, epoch: string, from: number, to: number | null): PreparedFrame {
  const frame: LostFrame = { type: 'lost', channel, epoch, from, to };
  return encodeNodeFrame(frame);
}
