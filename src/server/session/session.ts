import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import type { StreamPosition } from '../../protocol/frames.js';
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
  private buckets?: Map<string, TokenBucket>;
  private readonly traffic: TrafficCounters;

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
    if (this.socket.writableLength + this.queuedBytes + size > this.env.sendQueueBytes) {
      this.traffic.framesDropped++;
      this.env.onSlowConsumer(this);
      return;
    }
    this.push(frame, size);
  }

  private push(frame: PreparedFrame, size: number): void {
    this.queue.push(frame);
    this.queuedBytes += size;
    if (!this.dirty) {
      this.dirty = true;
      this.env.scheduler.schedule(this);
    }
  }

  send(frame: object): void {
    this.enqueue(PreparedFrame.fromObject(frame));
  }

  /** A publication or presence event for a subscribed channel. */
  deliver(channel: string, frame: PreparedFrame): void {
    const subscription = this.subscriptions.get(channel);
    if (!subscription) return;
    if (subscription.pending) {
      if (subscription.pending.length >= MAX_PENDING_FRAMES) this.env.onSlowConsumer(this);
      else subscription.pending.push(frame);
      return;
    }
    this.enqueue(frame);
  }

  /** Queues the frames that arrived while the subscription was being set up, after its reply. */
  releasePending(channel: string, skipThrough?: StreamPosition): void {
    const subscription = this.subscriptions.get(channel);
    if (!subscription?.pending) return;
    const pending = subscription.pending;
    subscription.pending = null;
    for (const frame of pending) {
      // Frames already replayed from history would arrive twice; those carry an offset at or below skipThrough.
      if (skipThrough && isReplayed(frame, skipThrough)) continue;
      this.enqueue(frame);
    }
  }

  flush(): void {
    this.dirty = false;
    const queue = this.queue;
    if (queue.length === 0) return;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.socket.destroyed || this.ws.readyState !== this.ws.OPEN) {
      this.traffic.framesDropped += queue.length;
      return;
    }
    const traffic = this.traffic;
    for (const frame of queue) traffic.countOut(frame.payload, frame.wire.length);
    if (this.env.rawWrites) {
      if (queue.length === 1) {
        this.socket.write(queue[0]!.wire);
        return;
      }
      if (bytes <= COALESCE_COPY_BYTES) {
        // Small frames: copying them into one buffer and writing that is cheaper than the stream's cork/writev path
        // (a chunk list, a write request and an iovec per frame).
        const out = Buffer.allocUnsafe(bytes);
        let at = 0;
        for (const frame of queue) at += frame.wire.copy(out, at);
        this.socket.write(out);
        return;
      }
      this.socket.cork();
      for (const frame of queue) this.socket.write(frame.wire);
      this.socket.uncork();
    } else {
      for (const frame of queue) this.ws.send(frame.payload, { binary: false });
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
   * Tells the client why (a `disconnect` frame) and closes the connection. Queued frames are flushed first so the
   * client reads the reason before the close. A socket that cannot take the frames is destroyed after a grace period.
   */
  close(code: number, reason: string, reconnect: boolean, after?: number): void {
    if (this.closing) return;
    // Closing first, and the disconnect frame bypasses the queue bound: a slow consumer being evicted must not be
    // evicted again by its own disconnect frame.
    this.closing = true;
    const frame = PreparedFrame.fromObject(disconnectFrame(code, reason, reconnect, after));
    this.push(frame, frame.wire.length);
    this.flush();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(code, closeReason(reason));
    }
    setTimeout(() => this.terminate(), 2_000).unref();
  }

  /** Drops the connection without a closing handshake (dead or unresponsive peers). */
  terminate(): void {
    this.closing = true;
    this.queue = [];
    this.queuedBytes = 0;
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

/** Reads the offset of a `message` frame cheaply; presence events have none and are never skipped. */
function isReplayed(frame: PreparedFrame, through: StreamPosition): boolean {
  const payload = frame.payload;
  if (payload.length < 20 || payload[9] !== 0x6d /* "message" starts at byte 9 of {"type":"message" */) return false;
  const at = payload.indexOf(OFFSET_MARKER);
  if (at === -1) return false;
  let offset = 0;
  for (let i = at + OFFSET_MARKER.length; i < payload.length; i++) {
    const digit = payload[i]! - 0x30;
    if (digit < 0 || digit > 9) break;
    offset = offset * 10 + digit;
  }
  return offset <= through.offset;
}

