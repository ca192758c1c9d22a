import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import type { LostFrame, StreamPosition } from '../../protocol/frames.js';
import type { Identity } from '../auth/identity.js';
import type { SubscriptionGrant } from '../auth/subscription-tokens.js';
import type { ClientInfo } from '../engine/registry/registry.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { TrafficCounters } from '../observability/traffic.js';
import { PreparedFrame } from '../transport/prepared-frame.js';
import type { ExpiryTimer } from './expiry-timer.js';
import type { FlushScheduler } from './flush-scheduler.js';
import { closeReason, disconnectFrame } from './server-frames.js';

export type ActionClass = 'publish' | 'subscribe' | 'send' | 'action';

/** A channel subscription of this session. Live frames wait in `pending` until the `subscribed` reply is queued. */
export interface SubscriptionState {
  pending: PreparedFrame[] | null;
  /** Where the namespace-specific buckets come from. */
  namespace: string;
  /** Set when a subscription token granted the subscription; it lasts until the token's expiry (or its refresh). */
  grant?: GrantedSubscription;
}

/** A subscription token's grant and the timer that warns before it expires and drops the subscription at expiry. */
export interface GrantedSubscription extends SubscriptionGrant {
  expiry?: ExpiryTimer;
}

/** What one connection brings. */
export interface SessionOptions {
  id: string;
  identity: Identity;
  ws: WebSocket;
  socket: Socket;
  client: ClientInfo;
  protocol: string;
}

/** What every session of a node shares: one object per node, so a session holds a single pointer to it. */
export interface SessionEnvironment {
  /** Bytes buffered (socket + queue) above which the session is evicted as a slow consumer. */
  sendQueueBytes: number;
  /** How long a closing session's socket may take to finish the close handshake before it is destroyed. */
  closeTimeoutMs: number;
  /** Write frames straight to the socket (no per-message compression negotiated). */
  rawWrites: boolean;
  scheduler: FlushScheduler;
  onSlowConsumer(session: Session): void;
  /** The node's frame and byte counters (metrics). */
  traffic: TrafficCounters;
}

/** Queued bytes up to which a flush copies the frames into one buffer for one write; larger batches use writev. */
const COALESCE_COPY_BYTES = 64 * 1024;

/** Frames buffered for a subscription whose reply is not out yet; beyond this the session is a slow consumer. */
const MAX_PENDING_FRAMES = 1000;

/**
 * Bytes the socket's own buffer may hold before frames wait in the session's queue instead (until it drains). Frames
 * still in the queue when a slow consumer is evicted are dropped, so its `disconnect` and close frame are never stuck
 * behind more than this (plus what the kernel holds).
 */
const SOCKET_WRITE_WATERMARK = 64 * 1024;

/**
 * One WebSocket connection. Owns the outbound queue (bounded, coalesced), liveness state and rate buckets; what the
 * frames mean is the request handler's business.
 */
export class Session {
  readonly id: string;
  /** Replaced by a refresh; `user` never changes. */
  identity: Identity;
  readonly user: string | null;
  readonly client: ClientInfo;
  readonly protocol: string;
  readonly connectedAt = Date.now();
  /** Made on first use: most sessions of a large deployment are idle, and an empty Map still costs heap. */
  private subscriptionMap?: Map<string, SubscriptionState>;

  /** True from the moment the gateway decided to end the session; nothing more is delivered. */
  closing = false;
  /** Set when the registry accepted the session; only then is there registry state to remove. */
  registered = false;
  /** How the session ended: the first close decided, by the gateway or the client (lifecycle events report it). */
  endedWith?: { code: number; reason: string };
  badFrames = 0;
  rateStrikes = 0;
  lastSeen = Date.now();
  pingSentAt = Date.now();
  awaitingPong = false;
  /** The credential's deadline, for credentials that expire. */
  expiry?: ExpiryTimer;

  private readonly ws: WebSocket;
  private readonly socket: Socket;
  private queue: PreparedFrame[] = [];
  private queuedBytes = 0;
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
    this.identity = options.identity;
    this.user = options.identity.user;
    this.client = options.client;
    this.protocol = options.protocol;
    this.ws = options.ws;
    this.socket = options.socket;
  }

  /** The session's channel subscriptions. */
  get subscriptions(): Map<string, SubscriptionState> {
    return (this.subscriptionMap ??= new Map());
  }

  /** Queues a frame; it is written with the others of this turn. Evicts the session when its buffers are full. */
  enqueue(frame: PreparedFrame): void {
    if (this.closing) {
      this.traffic.framesDropped++;
      return;
    }
    const size = frame.wire.length;
    if (this.socket.writableLength + this.queuedBytes - this.replyBytes + size > this.env.sendQueueBytes) {
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

  send(frame: object): void {
    this.enqueue(PreparedFrame.fromObject(frame));
  }

  /**
   * Queues a reply the client asked for (a history page) whose bytes do not count toward the slow-consumer bound: a
   * client that reads gets it however large it is, while other frames still see only their own bytes against the
   * bound, so a stalled client is still evicted. `written` runs once, when the reply's bytes have left for the kernel
   * or the session dropped them; the caller bounds such bytes itself. Returns the bytes queued.
   */
  sendReply(json: string, written: () => void): number {
    const frame = PreparedFrame.fromString(json);
    if (this.closing) {
      this.traffic.framesDropped++;
      written();
      return 0;
    }
    if (!this.replies) {
      this.replies = new Map();
      // Whatever the session still holds when the connection ends is released with it.
      this.ws.once('close', () => this.releaseReplies());
    }
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

  /** A publication or presence event for a subscribed channel. */
  deliver(channel: string, frame: PreparedFrame): void {
    const subscription = this.subscriptions.get(channel);
    if (!subscription) return;
    if (subscription.pending) {
      if (subscription.pending.length >= MAX_PENDING_FRAMES) this.evict();
      else subscription.pending.push(frame);
      return;
    }
    this.enqueue(frame);
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
      if (through) {
        const position = messagePosition(frame);
        if (position) {
          if (position.epoch !== through.epoch || position.offset <= through.offset) continue;
        } else if (isLostFrame(frame)) {
          const lost = JSON.parse(frame.payload.toString('utf8')) as LostFrame;
          if (lost.epoch !== through.epoch || (lost.to !== null && lost.to <= through.offset)) continue;
          const clipped = lost.from > through.offset ? frame : PreparedFrame.fromObject({ ...lost, from: through.offset + 1 });
          if (lost.to === null) through = undefined;
          this.enqueue(clipped);
          continue;
        }
      }
      this.enqueue(frame);
    }
  }

  /**
   * Writes the queue to the socket, as far as the socket's buffer has room below the watermark (at least one frame);
   * the rest waits for the socket to drain. `all` writes everything (closing: nothing comes after).
   */
  flush(all = false): void {
    this.dirty = false;
    if (this.queue.length === 0 || (this.awaitingDrain && !all)) return;
    if (this.socket.destroyed || this.ws.readyState !== this.ws.OPEN) {
      this.traffic.framesDropped += this.queue.length;
      this.releaseReplies(this.queue);
      this.queue = [];
      this.queuedBytes = 0;
      return;
    }
    // While the kernel takes what is written at once, the socket's buffer stays empty and writing goes on.
    let wrote = false;
    while (this.queue.length > 0) {
      // With per-message deflate, ws compresses off the socket: its bufferedAmount counts what waits there too.
      const room = all ? Infinity : SOCKET_WRITE_WATERMARK - (this.env.rawWrites ? this.socket.writableLength : this.ws.bufferedAmount);
      if (room <= 0 && wrote) break;
      this.writeUpTo(room);
      wrote = true;
    }
    if (this.queue.length === 0) return;
    // The socket emits 'drain' only after a write it could not take at once; when the kernel took everything, the
    // rest goes out on the next turn.
    if (this.socket.writableNeedDrain) this.awaitDrain();
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
    this.socket.once('drain', () => {
      this.awaitingDrain = false;
      this.scheduleFlush();
    });
  }

  private write(queue: PreparedFrame[], bytes: number): void {
    const traffic = this.traffic;
    for (const frame of queue) traffic.countOut(frame.payload, frame.wire.length);
    // Only batches that carry replies pay for a write callback: it releases them once they left the process.
    const done = this.replies && this.replies.size > 0 ? () => this.releaseReplies(queue) : undefined;
    if (this.env.rawWrites) {
      if (queue.length === 1) {
        this.socket.write(queue[0]!.wire, done);
        return;
      }
      if (bytes <= COALESCE_COPY_BYTES) {
        // Small frames: copying them into one buffer and writing that is cheaper than the stream's cork/writev path
        // (a chunk list, a write request and an iovec per frame).
        const out = Buffer.allocUnsafe(bytes);
        let at = 0;
        for (const frame of queue) at += frame.wire.copy(out, at);
        this.socket.write(out, done);
        return;
      }
      this.socket.cork();
      const last = queue.length - 1;
      for (let i = 0; i < last; i++) this.socket.write(queue[i]!.wire);
      this.socket.write(queue[last]!.wire, done);
      this.socket.uncork();
    } else {
      const last = queue.length - 1;
      for (let i = 0; i < last; i++) this.ws.send(queue[i]!.payload, { binary: false });
      this.ws.send(queue[last]!.payload, { binary: false }, done);
    }
  }

  /** Takes a token of the class's bucket; 0 when allowed, else seconds to wait. */
  takeToken(key: string, limit: { rate: number; burst: number }): number {
    this.buckets ??= new Map();
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(limit.rate, limit.burst)));
    return bucket.take();
  }

  ping(): void {
    this.awaitingPong = true;
    this.pingSentAt = Date.now();
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  /**
   * Tells the client why (a `disconnect` frame) and closes the connection. Queued frames go out first, so the client
   * reads everything before the reason — except for an evicted slow consumer, whose queued frames are dropped: it gets
   * what its socket already holds, then `disconnect` and the close frame. A socket that has not finished the close
   * handshake within `closeTimeoutMs` is destroyed.
   */
  close(code: number, reason: string, reconnect: boolean, after?: number): void {
    if (this.closing) return;
    // Closing first, and the disconnect frame bypasses the queue bound: a slow consumer being evicted must not be
    // evicted again by its own disconnect frame.
    this.closing = true;
    this.endedWith ??= { code, reason };
    if (this.evicted) {
      this.traffic.framesDropped += this.queue.length;
      this.releaseReplies(this.queue);
      this.queue = [];
      this.queuedBytes = 0;
    }
    const frame = PreparedFrame.fromObject(disconnectFrame(code, reason, reconnect, after));
    this.push(frame, frame.wire.length);
    this.flush(true);
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(code, closeReason(reason));
    }
    setTimeout(() => this.terminate(), this.env.closeTimeoutMs).unref();
  }

  /** Drops the connection without a closing handshake (dead or unresponsive peers). */
  terminate(): void {
    this.closing = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.releaseReplies();
    this.ws.terminate();
  }

  /** Bytes waiting to be written: socket buffer plus the queue of this turn. */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.queuedBytes;
  }

  get remoteAddress(): string | undefined {
    return this.client.ip;
  }
}

const OFFSET_MARKER = Buffer.from('"offset":');
const EPOCH_MARKER = Buffer.from(',"epoch":"');
const LOST_START = Buffer.from('{"type":"lost"');

/**
 * Reads offset and epoch of a `message` frame cheaply (the encoder writes `"epoch"` right after `"offset"`, and
 * neither channel names nor epochs contain quotes); null for other frames.
 */
function messagePosition(frame: PreparedFrame): StreamPosition | null {
  const payload = frame.payload;
  if (payload.length < 20 || payload[9] !== 0x6d /* "message" starts at byte 9 of {"type":"message" */) return null;
  const at = payload.indexOf(OFFSET_MARKER);
  if (at === -1) return null;
  let offset = 0;
  let i = at + OFFSET_MARKER.length;
  for (; i < payload.length; i++) {
    const digit = payload[i]! - 0x30;
    if (digit < 0 || digit > 9) break;
    offset = offset * 10 + digit;
  }
  if (payload.compare(EPOCH_MARKER, 0, EPOCH_MARKER.length, i, i + EPOCH_MARKER.length) !== 0) return null;
  const start = i + EPOCH_MARKER.length;
  const end = payload.indexOf(0x22, start);
  return end === -1 ? null : { offset, epoch: payload.toString('utf8', start, end) };
}

function isLostFrame(frame: PreparedFrame): boolean {
  return frame.payload.length > LOST_START.length && frame.payload.compare(LOST_START, 0, LOST_START.length, 0, LOST_START.length) === 0;
}
