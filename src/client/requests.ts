import type { ErrorFrame, RequestId } from '../protocol/index.js';
import { LocalErrorCode, WsgateClientError } from './errors.js';

/** A frame the client sends and expects a reply to; the table assigns the `id`. */
export interface OutgoingRequest {
  type: string;
  [field: string]: unknown;
}

interface Pending {
  readonly frame: OutgoingRequest & { id: number };
  /** The reply type that settles it (`subscribed` for `subscribe`, `reply` for application actions). */
  readonly expect: string;
  readonly resolve: (frame: unknown) => void;
  readonly reject: (error: WsgateClientError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  /** False while it waits for a connection; true once written to a socket. */
  sent: boolean;
}

/**
 * Requests in flight and requests waiting for a connection. Every request has an id and a timeout that starts when it
 * is issued, so waiting for a reconnect counts against it.
 */
export class RequestTable {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  /**
   * Registers a request. `send` is called now when given (connected); otherwise the request waits for `flush`.
   * Resolves with the reply frame; rejects with the gateway's error code, `TIMEOUT` or `DISCONNECTED`.
   */
  issue<Reply>(
    request: OutgoingRequest,
    expect: string,
    timeout: number,
    send: ((frame: OutgoingRequest) => void) | undefined,
  ): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const id = this.#nextId++;
      const frame = { ...request, id };
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new WsgateClientError(LocalErrorCode.TIMEOUT, `${request.type} got no answer within ${timeout} ms`));
      }, timeout);
      const pending: Pending = { frame, expect, resolve: resolve as (frame: unknown) => void, reject, timer, sent: false };
      this.#pending.set(id, pending);
      if (send) {
        pending.sent = true;
        send(frame);
      }
    });
  }

  /** Sends the requests that waited for a connection, oldest first. */
  flush(send: (frame: OutgoingRequest) => void): void {
    for (const pending of this.#pending.values()) {
      if (pending.sent) continue;
      pending.sent = true;
      send(pending.frame);
    }
  }

  /** Settles the request a reply or error frame answers; false when nothing waits for it (e.g. it already timed out). */
  settle(frame: { type: string; id?: RequestId }): boolean {
    if (typeof frame.id !== 'number') return false;
    const pending = this.#pending.get(frame.id);
    if (!pending || (frame.type !== 'error' && frame.type !== pending.expect)) return false;
    this.#pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (frame.type === 'error') {
      const error = frame as ErrorFrame;
      pending.reject(
        new WsgateClientError(
          error.code,
          error.message,
          error.retryAfter === undefined ? undefined : { retryAfter: error.retryAfter },
        ),
      );
    } else pending.resolve(frame);
    return true;
  }

  /**
   * Rejects the requests written to a socket that closed: their answers will never come, and resending is not safe
   * (a `publish` may already have happened). Requests still waiting for a connection keep waiting.
   */
  failSent(reason: string): void {
    this.#fail((pending) => pending.sent, reason);
  }

  /** Rejects everything: the client stopped and will not reconnect. */
  failAll(reason: string): void {
    this.#fail(() => true, reason);
  }

  #fail(select: (pending: Pending) => boolean, reason: string): void {
    for (const [id, pending] of this.#pending) {
      if (!select(pending)) continue;
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new WsgateClientError(LocalErrorCode.DISCONNECTED, `${pending.frame.type} failed: ${reason}`));
    }
  }
}
