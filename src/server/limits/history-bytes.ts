import { WsgateError } from '../../protocol/errors.js';

/** The bounds of `limits.history`. */
export interface HistoryByteLimits {
  sessionBytes: number;
  nodeBytes: number;
}

/** Seconds a refused reader is told to wait: its own replies drain as it reads; the node's as every reader does. */
const RETRY_AFTER_SESSION = 0.1;
const RETRY_AFTER_NODE = 0.5;

/**
 * History bytes in flight — read from the engine for a reply and not yet written to the session's socket — per session
 * and for the node. A reader reserves a reply's budget before it reads, so the engine is never asked for more than the
 * bounds allow; the reservation shrinks or grows to the reply's real size once encoded and ends when the bytes are
 * written (or dropped with the session).
 *
 * Guarantee: a reservation is refused when it would take the session over `sessionBytes` or the node over
 * `nodeBytes`; what is admitted can exceed a bound only by the difference between a reservation and its reply (one
 * publication larger than the reply budget).
 */
export class HistoryBytes {
  private node = 0;
  /** The most the node has held at once (tests and diagnostics read it). */
  peak = 0;
  private readonly sessions = new WeakMap<object, number>();

  constructor(private readonly limits: HistoryByteLimits) {}

  /** Bytes in flight on the node now. */
  get inFlight(): number {
    return this.node;
  }

  /** Reserves `bytes` for `session`; throws RATE_LIMITED with `retryAfter` when a bound would be passed. */
  reserve(session: object, bytes: number): HistoryReservation {
    const held = this.sessions.get(session) ?? 0;
    if (held + bytes > this.limits.sessionBytes) {
      throw new WsgateError('RATE_LIMITED', 'too many history bytes in flight for this session', { retryAfter: RETRY_AFTER_SESSION });
    }
    if (this.node + bytes > this.limits.nodeBytes) {
      throw new WsgateError('RATE_LIMITED', 'too many history bytes in flight on this node', { retryAfter: RETRY_AFTER_NODE });
    }
    return new HistoryReservation(this, session, bytes);
  }

  /** True when `bytes` more could be reserved for `session` now. */
  fits(session: object, bytes: number): boolean {
    return (this.sessions.get(session) ?? 0) + bytes <= this.limits.sessionBytes && this.node + bytes <= this.limits.nodeBytes;
  }

  /** @internal Moves a reservation's count by `delta`. */
  adjust(session: object, delta: number): void {
    const held = (this.sessions.get(session) ?? 0) + delta;
    if (held <= 0) this.sessions.delete(session);
    else this.sessions.set(session, held);
    this.node += delta;
    if (this.node > this.peak) this.peak = this.node;
  }
}

/** One reply's share of the history byte bounds; released once. */
export class HistoryReservation {
  private released = false;

  constructor(private readonly owner: HistoryBytes, private readonly session: object, private bytes: number) {
    owner.adjust(session, bytes);
  }

  /** The reply turned out `bytes` long. */
  resize(bytes: number): void {
    if (this.released) return;
    this.owner.adjust(this.session, bytes - this.bytes);
    this.bytes = bytes;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.owner.adjust(this.session, -this.bytes);
  }
}
