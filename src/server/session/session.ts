/**
 * Folder session/: the connection only. `Session` owns one client's outbound queue (bounded, coalesced, flushed once
 * per event-loop turn), its liveness state, rate buckets and the bookkeeping of how it ended, behind a
 * transport-neutral `SessionTransport` (session-transport.ts) and the `ProtocolCodec` negotiated at the handshake.
 * What the frames mean, channels, the hub and the engine are the layers above. session/ imports codec/, limits/,
 * protocol/ and types of auth/ and engine/registry (identity, client info); nothing above it.
 */
import type { Disconnect } from '../../protocol/close-codes.js';
import type { ServerFrame, StreamPosition } from '../../protocol/frames.js';
import type { ProtocolName } from '../../protocol/subprotocol.js';
import type { Identity } from '../auth/identity.js';
import type { SubscriptionGrant } from '../auth/subscription-tokens.js';
import { FrameKinds } from '../codec/frame-kinds.js';
import type { PreparedFrame } from '../codec/prepared-frame.js';
import type { ProtocolCodec } from '../codec/protocol-codec.js';
import type { ClientInfo } from '../engine/registry/registry.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { TrafficCounters } from '../observability/traffic.js';
import type { ExpiryTimer } from './expiry-timer.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { FrameRun } from './frame-run.js';
import type { SessionTransport } from './session-transport.js';

export type ActionClass = 'publish' | 'subscribe' | 'send' | 'action';

/** A channel subscription of this session. Live frames wait in `pending` until the `subscribed` reply is queued. */
export interface SubscriptionState {
  pending: PreparedFrame[] | null;
  /** Where the namespace-specific buckets come from. */
  namespace: string;
  /** Set when a subscription token granted the subscription; it lasts until the token's expiry (or its refresh). */
  grant?: GrantedSubscription;
  /** Who the session is in the channel's presence (user, and info where given), when the namespace has presence. */
  presence?: { user: string; info?: unknown };
  /**
   * The members this session was told of, where its protocol lists them at subscribe (a Pusher presence channel): the
   * list, then each member added or removed since. A join that raced the list's read (another node's announcement of
   * a member the list already holds) or a leave of someone it never listed would tell the client twice, so neither goes out.
   */
  members?: Set<string>;
}

/** A subscription token's grant and the timer that warns before it expires and drops the subscription at expiry. */
export interface GrantedSubscription extends SubscriptionGrant {
  expiry?: ExpiryTimer;
}

/** What one connection brings. */
export interface SessionOptions {
  id: string;
  identity: Identity;
  transport: SessionTransport;
  /** The protocol negotiated at the handshake; every frame the session is sent goes through it. */
  codec: ProtocolCodec;
  client: ClientInfo;
  /** Streaming transports: the secret the session's `POST /emulation` requests must show (sent in `welcome`). */
  emulationSecret?: string;
}

/** How a session ended: the first close decided, by the gateway or the client. */
export interface SessionEnd {
  code: number;
  reason: string;
}

/** What the admin console shows of a connection. */
export interface ConnectionDetails {
  transport: SessionTransport['name'];
  /** Bytes waiting to be written: the connection's buffer plus the queue of this turn. */
  bufferedBytes: number;
  lastSeen: number;
}

/** What every session of a node shares: one object per node, so a session holds a single pointer to it. */
export interface SessionEnvironment {
  /** Bytes buffered (socket + queue) above which the session is evicted as a slow consumer. */
  sendQueueBytes: number;
  /** How long a closing session's socket may take to finish the close handshake before it is destroyed. */
  closeTimeoutMs: number;
  scheduler: FlushScheduler;
  /** A session overran its send queue; it is being closed with SLOW_CONSUMER. */
  onSlowConsumer(session: Session): void;
  /**
   * The one way a session's end reaches the node: called when the gateway ends it (with the disconnect, once) and
   * again when its connection has closed (null). The node counts the first and cleans up, idempotently.
   */
  onEnded(session: Session, disconnect: Disconnect | null): void;
  /** The node's frame and byte counters (metrics). */
  traffic: TrafficCounters;
}

/** Frames buffered for a subscription whose reply is not out yet; beyond this the session is a slow consumer. */
const MAX_PENDING_FRAMES = 1000;

/**
 * Bytes the socket's own buffer may hold before frames wait in the session's queue instead (until it drains). Frames
 * still in the queue when a slow consumer is evicted are dropped, so its `disconnect` and close frame are never stuck
 * behind more than this (plus what the kernel holds).
 */
const SOCKET_WRITE_WATERMARK = 64 * 1024;

/**
 * One connection, whatever transport carries it. Owns the outbound queue (bounded, coalesced), liveness state and rate buckets; what the
 * frames mean is the request handler's business.
 */
export class Session {
  readonly id: string;
  /** Set at the handshake; an anonymous session may take a user once (`adoptUser`), never change it. */
  private currentUser: string | null;
  readonly client: ClientInfo;
  readonly codec: ProtocolCodec;
  /** The secret of a session whose client frames arrive by `POST /emulation`; null on a WebSocket. */
  readonly emulationSecret: string | null;
  readonly connectedAt = Date.now();
  /** Replaced by a refresh; `user` never changes. */
  private currentIdentity: Identity;
  /** The credential's deadline, for credentials that expire. */
  private expiry?: ExpiryTimer;
  /** Made on first use: most sessions of a large deployment are idle, and an empty Map still costs heap. */
  private subscriptionMap?: Map<string, SubscriptionState>;

  /** True from the moment the session began to end; nothing more is delivered. */
  private ending = false;
  /** Set when the registry accepted the session; only then is there registry state to remove. */
  private inRegistry = false;
  private end?: SessionEnd;
  private badFrameCount = 0;
  private rateStrikeCount = 0;
  private lastSeenAt = Date.now();
  private pingSentAt = Date.now();
  private awaitingPong = false;

  private readonly transport: SessionTransport;
  private queue: PreparedFrame[] = [];
  private queuedBytes = 0;
  /** The channel run the session rides (its queue is empty meanwhile), and the run's first frame that is the session's. */
  private run: FrameRun | null = null;
  private runStart = 0;
  private dirty = false;
  /** The socket's buffer is over the watermark; the queue is flushed again on its `drain`. */
  private awaitingDrain = false;
  /** Evicted as a slow consumer: what is still queued is dropped at close. */
  private evicted = false;
  private buckets?: Map<string, TokenBucket>;
  private readonly traffic: TrafficCounters;
  /** Replies queued or in the socket's buffer whose bytes the slow-consumer bound leaves out, with their release. */
  private replies?: Map<PreparedFrame, () => void>;
  private replyBytes = 0;

  constructor(options: SessionOptions, private readonly env: SessionEnvironment) {
    this.traffic = env.traffic;
    this.id = options.id;
    this.currentIdentity = options.identity;
    this.currentUser = options.identity.user;
    this.client = options.client;
    this.codec = options.codec;
    this.transport = options.transport;
    this.emulationSecret = options.emulationSecret ?? null;
  }

  get identity(): Identity {
    return this.currentIdentity;
  }

  /** Null for anonymous sessions. */
  get user(): string | null {
    return this.currentUser;
  }

  /**
   * An anonymous session becomes the identity's user (a Pusher connection signing in); false when the session already
   * has a user, or the identity none. The caller re-indexes the session under its user.
   */
  adoptUser(identity: Identity): boolean {
    if (this.currentUser !== null || identity.user === null) return false;
    this.currentUser = identity.user;
    this.currentIdentity = identity;
    return true;
  }

  /** A refresh (or a backend) replaced the credential; the user stays the same. */
  replaceIdentity(identity: Identity): void {
    this.currentIdentity = identity;
  }

  /** The timer of the credential's deadline, made with `make` on first use (credentials that never expire have none). */
  credentialExpiry(make: () => ExpiryTimer): ExpiryTimer {
    return (this.expiry ??= make());
  }

  clearCredentialExpiry(): void {
    this.expiry?.clear();
  }

  /** The transport that carries the session. */
  get transportName(): SessionTransport['name'] {
    return this.transport.name;
  }

  get protocol(): ProtocolName {
    return this.codec.subprotocol;
  }

  /** True from the moment the session began to end (the gateway decided, or the connection closed). */
  get closing(): boolean {
    return this.ending;
  }

  /** How the session ended, once it has: the first close decided, by the gateway or the client. */
  get endedWith(): SessionEnd | undefined {
    return this.end;
  }

  /** True while the registry holds the session (there is registry state to remove). */
  get registered(): boolean {
    return this.inRegistry;
  }

  markRegistered(): void {
    this.inRegistry = true;
  }

  /** Marks the session as no longer registered; true when it was (the caller removes the registry entry). */
  takeRegistration(): boolean {
    const was = this.inRegistry;
    this.inRegistry = false;
    return was;
  }

  /** A frame that could be read: the count of malformed frames in a row starts again. */
  frameAccepted(): void {
    this.badFrameCount = 0;
  }

  /** Counts a malformed frame; returns how many came in a row. */
  countBadFrame(): number {
    return ++this.badFrameCount;
  }

  /** A request the rate limit let through: the count of refusals in a row starts again. */
  rateAllowed(): void {
    this.rateStrikeCount = 0;
  }

  /** Counts a request the rate limit refused; returns how many in a row. */
  countRateStrike(): number {
    return ++this.rateStrikeCount;
  }

  /** The peer showed it is alive (a frame or a pong arrived). */
  markAlive(): void {
    this.lastSeenAt = Date.now();
    this.awaitingPong = false;
  }

  /**
   * Liveness at `now`: pings when `intervalMs` passed since the last ping; false when a ping went unanswered for more
   * than `timeoutMs` (the caller ends the session).
   */
  heartbeat(now: number, intervalMs: number, timeoutMs: number): boolean {
    if (this.awaitingPong) return now - this.pingSentAt <= timeoutMs;
    if (now - this.pingSentAt >= intervalMs) this.ping();
    return true;
  }

  describeConnection(): ConnectionDetails {
    const riding = this.run === null ? 0 : this.run.bytesFrom(this.runStart);
    return { transport: this.transport.name, bufferedBytes: this.transport.writableLength + this.queuedBytes + riding, lastSeen: this.lastSeenAt };
  }

  /** The session's channel subscriptions. */
  get subscriptions(): Map<string, SubscriptionState> {
    return (this.subscriptionMap ??= new Map());
  }

  /**
   * Queues a frame the node carries (a direct message, a backend's action): translated by the session's codec, written
   * with the others of this turn. Evicts the session when its buffers are full.
   */
  enqueue(frame: PreparedFrame): void {
    const translated = this.codec.translate(frame, null, this.user);
    if (translated) this.queueFrame(translated);
  }

  /** Queues a frame in the session's protocol already (one its codec encoded). */
  queueFrame(frame: PreparedFrame): void {
    if (this.run !== null) this.leaveRun();
    if (this.ending) {
      this.traffic.framesDropped++;
      return;
    }
    const size = frame.wire.length;
    if (this.transport.writableLength + this.queuedBytes - this.replyBytes + size > this.env.sendQueueBytes) {
      this.traffic.framesDropped++;
      this.evict();
      return;
    }
    this.push(frame, size);
  }

  private evict(): void {
    this.evicted = true;
    this.env.onSlowConsumer(this);
  }

  private push(frame: PreparedFrame, size: number): void {
    this.queue.push(frame);
    this.queuedBytes += size;
    this.scheduleFlush();
  }

  /** Queues a server frame, encoded by the session's codec. */
  send(frame: ServerFrame): void {
    this.queueFrame(this.codec.encode(frame));
  }

  /**
   * Queues a reply the client asked for (a history page) whose bytes do not count toward the slow-consumer bound: a
   * client that reads gets it however large it is, while other frames still see only their own bytes against the
   * bound, so a stalled client is still evicted. `written` runs once, when the reply's bytes have left for the kernel
   * or the session dropped them; the caller bounds such bytes itself. Returns the bytes queued.
   */
  sendReply(frame: PreparedFrame, written: () => void): number {
    if (this.ending) {
      this.traffic.framesDropped++;
      written();
      return 0;
    }
    if (this.run !== null) this.leaveRun();
    // Whatever the session still holds when the connection ends is released with it (`transportClosed`).
    this.replies ??= new Map();
    this.replies.set(frame, written);
    this.replyBytes += frame.wire.length;
    this.push(frame, frame.wire.length);
    return frame.wire.length;
  }

  /** Releases the replies among `frames` (written out), or all of them. */
  private releaseReplies(frames?: readonly PreparedFrame[]): void {
    const replies = this.replies;
    if (!replies || replies.size === 0) return;
    for (const frame of frames ?? [...replies.keys()]) {
      const written = replies.get(frame);
      if (!written) continue;
      replies.delete(frame);
      this.replyBytes -= frame.wire.length;
      written();
    }
  }

  /** A publication, presence event or `lost` range for a subscribed channel, in the node's (v1) form. */
  deliver(channel: string, carried: PreparedFrame): void {
    const subscription = this.subscriptionMap?.get(channel);
    if (!subscription) return;
    const frame = this.codec.translate(carried, channel, this.user);
    if (!frame) return;
    if (subscription.pending) {
      if (subscription.pending.length >= MAX_PENDING_FRAMES) this.evict();
      else subscription.pending.push(frame);
      return;
    }
    if (frame.member !== null && subscription.members && !updateMembers(subscription.members, frame)) return;
    this.queueFrame(frame);
  }

  /**
   * `deliver` for a fan-out that shares `run`, the channel's frames of this turn: a session with nothing else queued
   * (and a live subscription that takes the frame as it is) rides the run instead of queuing its own copy, and the
   * fan-out appends the frame to the run once, after visiting every subscriber. A rider of `run` is left alone: the run
   * carries the frame. Any other session gets it through `deliver`.
   */
  deliverWithRun(channel: string, carried: PreparedFrame, run: FrameRun): void {
    if (this.run === run) return;
    if (this.run === null && this.queue.length === 0 && !this.ending && !this.awaitingDrain) {
      const subscription = this.subscriptionMap?.get(channel);
      if (subscription && !subscription.pending && !subscription.members && this.codec.translate(carried, channel, this.user) === carried) {
        this.run = run;
        this.runStart = run.frames.length;
        run.riders++;
        this.scheduleFlush();
        return;
      }
    }
    this.deliver(channel, carried);
  }

  /** Stops riding `run`, if the session rides it: what it rode becomes its own queue (before anything sent later). */
  leaveRunOf(run: FrameRun): void {
    if (this.run === run) this.leaveRun();
  }

  /** The run the session rides, which it rides no more. */
  private takeRun(): FrameRun {
    const run = this.run!;
    this.run = null;
    run.riders--;
    return run;
  }

  private leaveRun(): void {
    const frames = this.takeRun().frames;
    for (let i = this.runStart; i < frames.length; i++) {
      const frame = frames[i]!;
      this.queue.push(frame);
      this.queuedBytes += frame.wire.length;
    }
  }

  /**
   * Writes the whole run the session rides as its one batch, the same frames as every other rider's: true when it did
   * (or evicted the session, whose run was over the slow-consumer bound). False leaves the run in place: the caller
   * makes it the session's own queue and flushes that (a run joined late, or one over the socket's watermark).
   */
  private flushRun(all: boolean): boolean {
    const run = this.run!;
    if (!this.transport.writable) return false;
    const bytes = run.bytesFrom(this.runStart);
    // The bound `queueFrame` holds each frame to, for all of them at once: over it, nothing of the run goes out.
    if (this.transport.writableLength - this.replyBytes + bytes > this.env.sendQueueBytes) {
      this.takeRun();
      this.traffic.framesDropped += run.frames.length - this.runStart;
      this.evict();
      return true;
    }
    if (this.runStart !== 0 || this.awaitingDrain) return false;
    if (!all && bytes > SOCKET_WRITE_WATERMARK - this.transport.bufferedAmount) return false;
    this.write(this.takeRun().frames, bytes);
    if (this.transport.needsDrain) this.awaitDrain();
    return true;
  }

  /**
   * Queues the frames that arrived while the subscription was being set up, after its reply. `floor` is the position
   * the reply reported: publications at or below it (or of another epoch) were replayed or precede the session, and
   * `lost` ranges are cut to what lies above it. A `lost` that ends the floor's epoch lets the next epoch through.
   */
  releasePending(channel: string, floor?: StreamPosition): void {
    const subscription = this.subscriptions.get(channel);
    if (!subscription?.pending) return;
    const pending = subscription.pending;
    subscription.pending = null;
    let through = floor;
    for (const frame of pending) {
      if (frame.member !== null && subscription.members && !updateMembers(subscription.members, frame)) continue;
      if (through) {
        const position = frame.position;
        const lost = frame.lost;
        if (position) {
          if (position.epoch !== through.epoch || position.offset <= through.offset) continue;
        } else if (lost) {
          if (lost.epoch !== through.epoch || (lost.to !== null && lost.to <= through.offset)) continue;
          const clipped = lost.from > through.offset ? frame : this.codec.encode({ ...lost, from: through.offset + 1 });
          if (lost.to === null) through = undefined;
          this.queueFrame(clipped);
          continue;
        }
      }
      this.queueFrame(frame);
    }
  }

  /**
   * Writes the queue to the socket, as far as the socket's buffer has room below the watermark (at least one frame);
   * the rest waits for the socket to drain. `all` writes everything (closing: nothing comes after).
   */
  flush(all = false): void {
    this.dirty = false;
    if (this.run !== null && !this.flushRun(all)) this.leaveRun();
    if (this.queue.length === 0 || (this.awaitingDrain && !all)) return;
    if (!this.transport.writable) {
      this.dropQueue();
      return;
    }
    // While the kernel takes what is written at once, the socket's buffer stays empty and writing goes on.
    let wrote = false;
    while (this.queue.length > 0) {
      const room = all ? Infinity : SOCKET_WRITE_WATERMARK - this.transport.bufferedAmount;
      if (room <= 0 && wrote) break;
      this.writeUpTo(room);
      wrote = true;
    }
    if (this.queue.length === 0) return;
    // The socket emits 'drain' only after a write it could not take at once; when the kernel took everything, the
    // rest goes out on the next turn.
    if (this.transport.needsDrain) this.awaitDrain();
    else this.scheduleFlush();
  }

  /** Writes queued frames up to `room` bytes (at least one frame, so a frame larger than the room still goes). */
  private writeUpTo(room: number): void {
    let queue = this.queue;
    let bytes = this.queuedBytes;
    if (bytes <= room) {
      this.queue = [];
      this.queuedBytes = 0;
    } else {
      let count = 0;
      let taken = 0;
      while (count < queue.length && (count === 0 || taken + queue[count]!.wire.length <= room)) taken += queue[count++]!.wire.length;
      this.queue = queue.slice(count);
      this.queuedBytes -= taken;
      queue = queue.slice(0, count);
      bytes = taken;
    }
    this.write(queue, bytes);
  }

  private scheduleFlush(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.env.scheduler.schedule(this);
  }

  private awaitDrain(): void {
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    // A closure only while this socket is backed up; idle and healthy sessions never carry one.
    this.transport.onceDrained(() => {
      this.awaitingDrain = false;
      this.scheduleFlush();
    });
  }

  private write(queue: PreparedFrame[], bytes: number): void {
    const traffic = this.traffic;
    for (const frame of queue) traffic.countOut(frame.kind, frame.wire.length);
    // Only batches that carry replies pay for a write callback: it releases them once they left the process.
    const done = this.replies && this.replies.size > 0 ? () => this.releaseReplies(queue) : undefined;
    this.transport.write(queue, bytes, done);
  }

  /** Takes a token of the class's bucket; 0 when allowed, else seconds to wait. */
  takeToken(key: string, limit: { rate: number; burst: number }): number {
    this.buckets ??= new Map();
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(limit.rate, limit.burst)));
    return bucket.take();
  }

  private ping(): void {
    this.awaitingPong = true;
    this.pingSentAt = Date.now();
    this.transport.ping();
  }

  /**
   * Ends the session: tells the client why (the codec's `disconnect` frame) and closes the connection. Queued frames go
   * out first, so the client reads everything before the reason — except for an evicted slow consumer, whose queued
   * frames are dropped: it gets what its socket already holds, then `disconnect` and the close frame. A connection
   * that has not finished the close handshake within `closeTimeoutMs` is dropped. The node hears of it once.
   */
  close(disconnect: Disconnect, after?: number): void {
    if (this.ending) return;
    // Ending first, and the disconnect frame bypasses the queue bound: a slow consumer being evicted must not be
    // evicted again by its own disconnect frame.
    this.ending = true;
    this.end ??= { code: disconnect.code, reason: disconnect.reason };
    if (this.run !== null) this.leaveRun();
    if (this.evicted) this.dropQueue();
    const frame = this.codec.encodeDisconnect(disconnect, after);
    this.push(frame, frame.wire.length);
    this.flush(true);
    this.transport.close(this.codec.closeCode(disconnect.code), disconnect.reason);
    setTimeout(() => this.drop(), this.env.closeTimeoutMs).unref();
    this.env.onEnded(this, disconnect);
  }

  /** Ends the session without a closing handshake (dead or unresponsive peers). The node hears of it once. */
  terminate(disconnect: Disconnect): void {
    if (this.ending) return;
    this.end ??= { code: disconnect.code, reason: disconnect.reason };
    this.drop();
    this.env.onEnded(this, disconnect);
  }

  /** The connection closed (the peer, or the end of a close the gateway began): `code` and `reason` are its close. */
  transportClosed(code: number, reason: string): void {
    this.ending = true;
    this.end ??= { code, reason };
    this.releaseReplies();
    this.env.onEnded(this, null);
  }

  private drop(): void {
    this.ending = true;
    if (this.run !== null) this.leaveRun();
    this.queue = [];
    this.queuedBytes = 0;
    this.releaseReplies();
    this.transport.terminate();
  }

  private dropQueue(): void {
    if (this.run !== null) this.leaveRun();
    this.traffic.framesDropped += this.queue.length;
    this.releaseReplies(this.queue);
    this.queue = [];
    this.queuedBytes = 0;
  }
}

/** Applies a member added or removed to a session's view of members; false when it repeats what the view holds. */
function updateMembers(members: Set<string>, frame: PreparedFrame): boolean {
  const user = frame.member!;
  if (frame.kind === FrameKinds.join) {
    if (members.has(user)) return false;
    members.add(user);
    return true;
  }
  return members.delete(user);
}
