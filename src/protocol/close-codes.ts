/**
 * The one table of WebSocket close codes wsgate uses.
 *
 * Ranges:
 * - 1000–3999 (standard codes) and 4000–4499: the client SHOULD reconnect (with backoff; honour `after` hints).
 * - 4500–4999: terminal — the client MUST NOT reconnect on its own (kicked by policy, refused, told to stay away).
 *
 * A client-initiated close with 1000 is not reconnected either: the application asked for it.
 */
export const CloseCode = {
  /** Normal closure, initiated by the client. */
  NORMAL: 1000,
  /**
   * A message broke a transport limit other than its size: more than `ws.maxFragments` fragments, or more than
   * `ws.maxBufferedChunks` chunks waiting to be parsed (sent by the WebSocket layer itself).
   */
  POLICY_VIOLATION: 1008,
  /** A frame larger than `maxPayload` arrived (sent by the WebSocket layer itself). */
  MESSAGE_TOO_BIG: 1009,
  /** Unexpected server-side failure while serving the session. */
  INTERNAL_ERROR: 1011,
  /** The node is draining for a restart; reconnect after the `after` hint. */
  SERVICE_RESTART: 1012,
  /** The node cannot take more sessions right now (node full, engine unavailable). */
  TRY_AGAIN_LATER: 1013,

  /** A backend disconnected the session and allowed it to come back. */
  SERVER_RECONNECT: 4000,
  /** The client did not read fast enough; its send queue exceeded the bound. */
  SLOW_CONSUMER: 4001,
  /** No pong within the ping timeout (rarely seen: the socket is usually dead). */
  PING_TIMEOUT: 4002,
  /** The session kept sending over its rate limit after being warned. */
  RATE_LIMITED: 4003,
  /** The session's credential expired without a `refresh`; reconnect with a fresh one. */
  TOKEN_EXPIRED: 4004,
  /** Too many malformed frames in a row; reconnecting with a fixed client is fine. */
  PROTOCOL_ERROR: 4005,

  /** A backend disconnected the session and told it not to come back. */
  SERVER_DISCONNECT: 4500,
  /** Session policy (`onLimit: kick-oldest`): a newer session of the same user replaced this one. */
  KICKED: 4501,
  /** Session policy (`onLimit: reject-new`): the user already holds the maximum number of sessions. */
  SESSION_LIMIT: 4502,
  /** The user or the credential was revoked, or the connect backend refused the session. */
  UNAUTHORIZED: 4503,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** Start and end (inclusive) of the terminal range. */
export const TERMINAL_CLOSE_RANGE = [4500, 4999] as const;

/** True when a client should reconnect after a close with this code. */
export function shouldReconnect(code: number): boolean {
  if (code === CloseCode.NORMAL) return false;
  return !(code >= TERMINAL_CLOSE_RANGE[0] && code <= TERMINAL_CLOSE_RANGE[1]);
}

const namesByCode = new Map<number, CloseCodeName>(
  Object.entries(CloseCode).map(([name, code]) => [code, name as CloseCodeName]),
);

/** The table name of a close code, or undefined for codes wsgate does not send. */
export function closeCodeName(code: number): CloseCodeName | undefined {
  return namesByCode.get(code);
}

/**
 * Why the gateway ends a session: a close code from the table and the reason it tells the client (in the `disconnect`
 * frame and the close frame). Whether the client reconnects follows from the code's range (`shouldReconnect`).
 */
export interface Disconnect {
  readonly code: number;
  readonly reason: string;
}

/** The disconnects the gateway raises with a fixed reason; others pair a code with the reason of the moment. */
export const Disconnects = {
  SERVICE_RESTART: { code: CloseCode.SERVICE_RESTART, reason: 'node is restarting' },
  REGISTRATION_FAILED: { code: CloseCode.TRY_AGAIN_LATER, reason: 'session could not be registered' },
  REVOCATION_CHECK_FAILED: { code: CloseCode.TRY_AGAIN_LATER, reason: 'the revocation check failed' },
  SLOW_CONSUMER: { code: CloseCode.SLOW_CONSUMER, reason: 'client did not read fast enough' },
  PING_TIMEOUT: { code: CloseCode.PING_TIMEOUT, reason: 'no pong within the ping timeout' },
  RATE_LIMITED: { code: CloseCode.RATE_LIMITED, reason: 'rate limit exceeded repeatedly' },
  TOKEN_EXPIRED: { code: CloseCode.TOKEN_EXPIRED, reason: 'credential expired' },
  PROTOCOL_ERROR: { code: CloseCode.PROTOCOL_ERROR, reason: 'too many malformed frames' },
  KICKED: { code: CloseCode.KICKED, reason: 'replaced by a newer session of the same user' },
  SESSION_LIMIT: { code: CloseCode.SESSION_LIMIT, reason: 'the user already holds the maximum number of sessions' },
} as const satisfies Record<string, Disconnect>;

/** What a backend's disconnect means: 4000 lets the client come back, 4500 tells it to stay away. */
export function serverDisconnect(reconnect: boolean, reason: string): Disconnect {
  return { code: reconnect ? CloseCode.SERVER_RECONNECT : CloseCode.SERVER_DISCONNECT, reason };
}
