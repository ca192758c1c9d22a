import { CloseCode, TERMINAL_CLOSE_RANGE, type Disconnect } from '../../../protocol/close-codes.js';

/**
 * Pusher's close and error codes, in the ranges pusher-js acts on: 4000–4099 refused (it does not reconnect),
 * 4100–4199 reconnect after backing off, 4200–4299 reconnect at once, 4300 and up refused.
 */
export const PUSHER_CLOSE = {
  /** No app has the key the client connected with. */
  APP_NOT_FOUND: 4001,
  /** The user already holds the maximum number of connections (wsgate's session policy, `reject-new`). */
  OVER_CONNECTION_QUOTA: 4004,
  /** The `protocol` query parameter is missing or not a number. */
  INVALID_VERSION: 4006,
  /** The client speaks a protocol older than 7. */
  UNSUPPORTED_PROTOCOL: 4007,
  /**
   * Not authorized: a failed `pusher:signin`, a connection ended by `terminate_connections` or by policy (kicked,
   * revoked). pusher-js does not reconnect.
   */
  UNAUTHORIZED: 4009,
  /** The node cannot take the connection now (full, slow client, store unavailable): back off, then reconnect. */
  OVER_CAPACITY: 4100,
  /** The node is restarting (drain) or asked the client to come back: reconnect at once. */
  RECONNECT: 4200,
  /** No pong within the ping timeout. */
  PONG_NOT_RECEIVED: 4201,
  /** Client events over the connection's rate (`clientEventRate`); as a close, the rate limit was exceeded repeatedly. */
  CLIENT_EVENT_RATE_LIMIT: 4301,
} as const;

/** `terminate_connections` ends a user's Pusher connections with this: they close with 4009 and do not reconnect. */
export const PUSHER_TERMINATED: Disconnect = { code: CloseCode.SERVER_DISCONNECT, reason: 'connections terminated by the app' };

/** The Pusher close code of each wsgate close code a Pusher session can be ended with. */
const PUSHER_CLOSE_OF: ReadonlyMap<number, number> = new Map([
  [CloseCode.INTERNAL_ERROR, PUSHER_CLOSE.RECONNECT],
  [CloseCode.SERVICE_RESTART, PUSHER_CLOSE.RECONNECT],
  [CloseCode.TRY_AGAIN_LATER, PUSHER_CLOSE.OVER_CAPACITY],
  [CloseCode.SERVER_RECONNECT, PUSHER_CLOSE.RECONNECT],
  [CloseCode.SLOW_CONSUMER, PUSHER_CLOSE.OVER_CAPACITY],
  [CloseCode.PING_TIMEOUT, PUSHER_CLOSE.PONG_NOT_RECEIVED],
  [CloseCode.RATE_LIMITED, PUSHER_CLOSE.CLIENT_EVENT_RATE_LIMIT],
  [CloseCode.TOKEN_EXPIRED, PUSHER_CLOSE.RECONNECT],
  [CloseCode.PROTOCOL_ERROR, PUSHER_CLOSE.OVER_CAPACITY],
  [CloseCode.SERVER_DISCONNECT, PUSHER_CLOSE.UNAUTHORIZED],
  [CloseCode.KICKED, PUSHER_CLOSE.UNAUTHORIZED],
  [CloseCode.SESSION_LIMIT, PUSHER_CLOSE.OVER_CONNECTION_QUOTA],
  [CloseCode.UNAUTHORIZED, PUSHER_CLOSE.UNAUTHORIZED],
]);

/**
 * The close code a Pusher session ends with for a wsgate close code: from the table; codes already in Pusher's ranges
 * (4000–4499 as Pusher uses them: a Pusher-specific end such as a failed signin) pass through; any other code of the
 * reconnect range backs off, a terminal one refuses.
 */
export function pusherCloseCode(code: number): number {
  const mapped = PUSHER_CLOSE_OF.get(code);
  if (mapped !== undefined) return mapped;
  if ((Object.values(PUSHER_CLOSE) as number[]).includes(code)) return code;
  return code >= TERMINAL_CLOSE_RANGE[0] && code <= TERMINAL_CLOSE_RANGE[1] ? PUSHER_CLOSE.UNAUTHORIZED : PUSHER_CLOSE.OVER_CAPACITY;
}
