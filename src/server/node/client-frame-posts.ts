import { encodeInboxMessage, type EmulationMessage } from '../codec/broker-envelope.js';
import type { Engine } from '../engine/engine.js';
import type { Hub } from '../hub/hub.js';
import type { Session } from '../session/session.js';
import { matchesDigest, secretsEqual } from './emulation-secret.js';

/** A `POST /emulation`: client frames for a session on a streaming transport, authenticated by its secret. */
export interface ClientFramePost {
  session: string;
  secret: string;
  /** The POST's place in the session's sequence (1, 2, …); absent: applied as it arrives. */
  seq?: number;
  /** Client frames as JSON text, applied in this order. */
  frames: string[];
}

export interface ClientFramePostOptions {
  /** How long POSTs that arrived ahead of a missing one wait for it before the gap is skipped. */
  orderWaitMs: number;
  /** POSTs a session holds ahead of a gap; one more skips the gap at once. */
  maxPendingPosts: number;
}

/** A session's place in its POST sequence, with the POSTs that arrived ahead of a gap. */
interface PostOrder {
  next: number;
  held: Map<number, string[]>;
  timer?: NodeJS.Timeout;
}

/**
 * Client frames that arrive by HTTP POST instead of on the session's connection. A POST may land on any node: one for
 * a session held elsewhere is checked against the registry's digest of the secret and forwarded through the holder's
 * inbox; the holder checks the secret itself and applies the frames through the same path as WebSocket frames. POSTs
 * that carry `seq` are applied in sequence order: one that arrives ahead of its predecessors waits for them up to
 * `orderWaitMs` (or while fewer than `maxPendingPosts` are held), then the gap is skipped; a repeated or older `seq` is
 * ignored. An unknown session and a wrong secret are the same answer, so a POST learns nothing about sessions it does
 * not hold the secret of.
 */
export class ClientFramePosts {
  /** Per session, kept only while it lives: a session that ends takes its order with it. */
  private readonly orders = new WeakMap<Session, PostOrder>();

  constructor(
    private readonly nodeId: string,
    private readonly hub: Hub,
    private readonly engine: Pick<Engine, 'registry' | 'broker'>,
    private readonly apply: (session: Session, text: string) => unknown,
    private readonly options: ClientFramePostOptions,
  ) {}

  /** Takes a POST that arrived at this node; false when no session has that id and secret. */
  async accept(post: ClientFramePost): Promise<boolean> {
    const local = this.hub.sessions.get(post.session);
    if (local) return this.applyLocal(local, post);
    const record = await this.engine.registry.getSession(post.session);
    if (!record || record.node === this.nodeId || record.emulation === undefined || !matchesDigest(record.emulation, post.secret)) return false;
    const message: EmulationMessage = { kind: 'emulation', session: post.session, secret: post.secret, frames: post.frames };
    if (post.seq !== undefined) message.seq = post.seq;
    await this.engine.broker.sendToNode(record.node, encodeInboxMessage(message));
    return true;
  }

  /** A POST another node forwarded through this node's inbox. */
  receive(message: EmulationMessage): void {
    const session = this.hub.sessions.get(message.session);
    if (session) this.applyLocal(session, message);
  }

  private applyLocal(session: Session, post: Pick<ClientFramePost, 'secret' | 'seq' | 'frames'>): boolean {
    if (session.emulationSecret === null || !secretsEqual(session.emulationSecret, post.secret)) return false;
    session.markAlive();
    if (post.seq === undefined) {
      this.run(session, post.frames);
      return true;
    }
    let order = this.orders.get(session);
    if (!order) this.orders.set(session, (order = { next: 1, held: new Map() }));
    if (post.seq < order.next || order.held.has(post.seq)) return true;
    order.held.set(post.seq, post.frames);
    this.release(session, order);
    if (order.held.size > this.options.maxPendingPosts) this.skipGap(session, order);
    else if (order.held.size > 0) this.armGapTimer(session, order);
    return true;
  }

  /** Applies the held POSTs that are next in sequence. */
  private release(session: Session, order: PostOrder): void {
    for (let frames = order.held.get(order.next); frames; frames = order.held.get(order.next)) {
      order.held.delete(order.next);
      order.next++;
      this.run(session, frames);
    }
    if (order.held.size === 0 && order.timer) {
      clearTimeout(order.timer);
      order.timer = undefined;
    }
  }

  /** The missing POSTs are given up on: the sequence goes on from the first one held. */
  private skipGap(session: Session, order: PostOrder): void {
    if (order.timer) clearTimeout(order.timer);
    order.timer = undefined;
    if (order.held.size === 0) return;
    order.next = Math.min(...order.held.keys());
    this.release(session, order);
    if (order.held.size > 0) this.armGapTimer(session, order);
  }

  private armGapTimer(session: Session, order: PostOrder): void {
    order.timer ??= setTimeout(() => {
      order.timer = undefined;
      this.skipGap(session, order);
    }, this.options.orderWaitMs).unref();
  }

  private run(session: Session, frames: readonly string[]): void {
    // As on a WebSocket: each frame's handling starts in arrival order; none waits for the one before to finish.
    for (const text of frames) {
      if (session.closing) return;
      this.apply(session, text);
    }
  }
}
