import type { ErrorCode } from '../protocol/index.js';

/** Codes of failures detected by the client itself rather than reported by the gateway. */
export const LocalErrorCode = {
  /** No answer within the request's timeout. */
  TIMEOUT: 'TIMEOUT',
  /** The connection closed before the answer came, or the client is not connected and will not reconnect. */
  DISCONNECTED: 'DISCONNECTED',
  /** A connection attempt failed: the credential callback threw, or the handshake was refused or timed out. */
  CONNECT_FAILED: 'CONNECT_FAILED',
  /** The gateway sent a frame the client cannot read. */
  UNREADABLE_FRAME: 'UNREADABLE_FRAME',
  /** A credential callback for a refresh or a subscription token (`getToken`, `getTicket`) failed, or none is set. */
  CREDENTIAL_FAILED: 'CREDENTIAL_FAILED',
} as const;

export type LocalErrorCode = (typeof LocalErrorCode)[keyof typeof LocalErrorCode];

/**
 * A catalogue code from the gateway (`docs/errors.md`) or a local code. Open-ended on purpose: a newer gateway may send
 * codes this client does not know yet.
 */
export type WsgateClientErrorCode = ErrorCode | LocalErrorCode | (string & {});

/** Every failure the client reports: rejected requests, failed subscriptions, failed connection attempts. */
export class WsgateClientError extends Error {
  override readonly name = 'WsgateClientError';
  readonly code: WsgateClientErrorCode;
  /** Seconds after which the same request may succeed, when the gateway said so (rate limits). */
  readonly retryAfter?: number;

  constructor(code: WsgateClientErrorCode, message: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}
