import { CloseCode, type CloseCodeValue } from './close-codes.js';

interface ErrorSpec {
  /** HTTP status when the error answers an HTTP request (server API, handshake). */
  readonly status: number;
  /** Default human-readable message. */
  readonly message: string;
  /** Close code when the error ends a session instead of answering a frame. */
  readonly close?: CloseCodeValue;
}

/**
 * The catalogue of stable error codes. Codes never change meaning once released; `docs/errors.md` lists each one
 * (a test keeps the two in step).
 */
export const ErrorCatalogue = {
  // Frames from clients
  BAD_FRAME: { status: 400, message: 'frame is not valid JSON' },
  BAD_REQUEST: { status: 400, message: 'frame does not match the protocol' },
  BINARY_NOT_SUPPORTED: { status: 400, message: 'binary frames are not accepted with the JSON subprotocol' },
  FRAME_TOO_LARGE: { status: 413, message: 'frame exceeds maxPayload', close: CloseCode.MESSAGE_TOO_BIG },
  TOO_MANY_BAD_FRAMES: { status: 400, message: 'too many malformed frames', close: CloseCode.PROTOCOL_ERROR },

  // Channels
  CHANNEL_INVALID: { status: 400, message: 'channel name is not valid' },
  NAMESPACE_UNKNOWN: { status: 404, message: 'channel namespace is not configured' },
  CHANNEL_FORBIDDEN: { status: 403, message: 'not allowed to subscribe to this channel' },
  CHANNEL_FULL: { status: 409, message: 'channel has reached its subscriber limit' },
  ALREADY_SUBSCRIBED: { status: 409, message: 'already subscribed to this channel' },
  NOT_SUBSCRIBED: { status: 409, message: 'not subscribed to this channel' },
  PUBLISH_FORBIDDEN: { status: 403, message: 'clients may not publish to this channel' },
  PRESENCE_DISABLED: { status: 409, message: 'presence is not enabled for this namespace' },
  HISTORY_DISABLED: { status: 409, message: 'history is not enabled for this namespace' },
  TOO_MANY_SUBSCRIPTIONS: { status: 429, message: 'session holds the maximum number of subscriptions' },

  // Direct messages and application actions
  SEND_FORBIDDEN: { status: 403, message: 'not allowed to message this user' },
  USER_INVALID: { status: 400, message: 'user id is not valid' },
  NO_ROUTE: { status: 404, message: 'no backend handles this action type' },
  BACKEND_ERROR: { status: 502, message: 'the backend failed to handle the action' },
  BACKEND_TIMEOUT: { status: 504, message: 'the backend did not answer in time' },
  ACTION_RESERVED: { status: 400, message: 'action type is reserved by the protocol' },

  // Limits
  RATE_LIMITED: { status: 429, message: 'rate limit exceeded', close: CloseCode.RATE_LIMITED },
  SLOW_CONSUMER: { status: 503, message: 'client did not read fast enough', close: CloseCode.SLOW_CONSUMER },
  NODE_FULL: { status: 503, message: 'node holds the maximum number of sessions', close: CloseCode.TRY_AGAIN_LATER },
  CONNECTION_RATE_LIMITED: { status: 429, message: 'too many connection attempts from this address' },
  CONNECTION_LIMIT: { status: 429, message: 'too many open connections from this address' },
  NODE_BUSY: { status: 503, message: 'node has the maximum number of handshakes in progress; retry after Retry-After' },
  DRAINING: { status: 503, message: 'node is draining', close: CloseCode.SERVICE_RESTART },
  ENGINE_UNAVAILABLE: { status: 503, message: 'shared state engine is unavailable' },

  // Handshake and authentication
  ORIGIN_FORBIDDEN: { status: 403, message: 'origin is not allowed' },
  SUBPROTOCOL_UNSUPPORTED: { status: 400, message: 'none of the offered subprotocols is supported' },
  HANDSHAKE_INVALID: { status: 400, message: 'not a valid WebSocket handshake' },
  AUTH_REQUIRED: { status: 401, message: 'authentication required' },
  TICKET_INVALID: { status: 401, message: 'ticket is unknown, expired or already used' },
  TOKEN_INVALID: { status: 401, message: 'token is not valid', close: CloseCode.UNAUTHORIZED },
  TOKEN_EXPIRED: { status: 401, message: 'token has expired', close: CloseCode.TOKEN_EXPIRED },
  CREDENTIAL_REVOKED: { status: 403, message: 'the user or the token was revoked', close: CloseCode.UNAUTHORIZED },
  KEYS_UNAVAILABLE: { status: 503, message: 'the keys that verify the token could not be fetched' },
  CONNECT_REFUSED: { status: 403, message: 'the connect backend refused the session', close: CloseCode.UNAUTHORIZED },
  CONNECT_BACKEND_UNAVAILABLE: { status: 503, message: 'the connect backend did not answer', close: CloseCode.TRY_AGAIN_LATER },
  SESSION_LIMIT: { status: 409, message: 'user holds the maximum number of sessions', close: CloseCode.SESSION_LIMIT },
  KICKED: { status: 409, message: 'replaced by a newer session of the same user', close: CloseCode.KICKED },
  LOGIN_DISABLED: { status: 404, message: 'the development login is disabled' },

  // HTTP requests (server API, browser auth, handshakes) the node cannot take
  REQUEST_INVALID: { status: 400, message: 'request is not valid HTTP or its target is not a valid URL' },
  REQUEST_TIMEOUT: { status: 408, message: 'request did not arrive in time' },
  HEADERS_TOO_LARGE: { status: 431, message: 'request headers are too large' },

  // Server API
  UNAUTHORIZED: { status: 401, message: 'missing or invalid API key' },
  NOT_FOUND: { status: 404, message: 'no such route' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this route' },
  BODY_INVALID: { status: 400, message: 'request body is not valid' },
  BODY_TOO_LARGE: { status: 413, message: 'request body too large' },
  SESSION_NOT_FOUND: { status: 404, message: 'no such session' },
  USER_NOT_FOUND: { status: 404, message: 'user has no sessions' },
  CHANNEL_NOT_FOUND: { status: 404, message: 'channel has no subscribers' },
  IDEMPOTENCY_KEY_INVALID: { status: 400, message: 'Idempotency-Key must be 1-255 visible ASCII characters' },
  IDEMPOTENCY_CONFLICT: { status: 409, message: 'Idempotency-Key was already used with a different request' },
  WEBHOOK_ENDPOINT_UNKNOWN: { status: 404, message: 'no webhook endpoint of that name is configured' },

  // Operator console (`/admin`)
  ADMIN_LOGIN_FAILED: { status: 401, message: 'wrong admin password or key' },
  ADMIN_SESSION_REQUIRED: { status: 401, message: 'log in to the console first (or the console session expired)' },
  ADMIN_API_KEY_REFUSED: { status: 401, message: 'the console does not take API keys: log in with the admin password or key' },
  CSRF_INVALID: { status: 403, message: 'missing or wrong CSRF token' },

  INTERNAL: { status: 500, message: 'internal error', close: CloseCode.INTERNAL_ERROR },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ErrorCatalogue;

/** Every error wsgate reports carries a catalogue code; the message may add detail. */
export class WsgateError extends Error {
  override readonly name = 'WsgateError';
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds after which the same request may succeed (rate limits). */
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message ?? ErrorCatalogue[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ErrorCatalogue[code].status;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCatalogue, value);
}
