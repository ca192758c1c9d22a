/**
 * Protocol v1 frames. Every frame is one JSON object with a `type`. Requests carry an `id` (string or number chosen by
 * the client); the reply or error echoes it. `docs/protocol.md` is the normative description.
 */

export type RequestId = string | number;

/** Position in a channel's stream: `offset` increases per publication, `epoch` changes when the stream is reset. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

// ---- client -> gateway ---------------------------------------------------------------------------------------

export interface SubscribeRequest {
  type: 'subscribe';
  id: RequestId;
  channel: string;
  /** Resume after this position: the gateway replays what was missed from history, or answers `recovered: false`. */
  recover?: StreamPosition;
  /** A subscription token (a JWT naming the channel and the permitted actions) that grants access on its own. */
  token?: string;
}
export interface UnsubscribeRequest {
  type: 'unsubscribe';
  id: RequestId;
  channel: string;
}
export interface PublishRequest {
  type: 'publish';
  id: RequestId;
  channel: string;
  data: unknown;
}
export interface PresenceRequest {
  type: 'presence';
  id: RequestId;
  channel: string;
}
export interface HistoryRequest {
  type: 'history';
  id: RequestId;
  channel: string;
  /** Publications after this position; omitted = the most recent `limit`. */
  since?: StreamPosition;
  limit?: number;
}
export interface SendRequest {
  type: 'send';
  id: RequestId;
  user: string;
  data: unknown;
}
/**
 * A fresh credential for the session (a JWT, or a one-time ticket) — or, with `channel`, a fresh subscription token
 * for that subscription. The user may not change.
 */
export interface RefreshRequest {
  type: 'refresh';
  id: RequestId;
  token: string;
  channel?: string;
}
/** Any `type` that is not built in: routed to the backend that owns it. */
export interface ApplicationAction {
  type: string;
  id?: RequestId;
  payload?: unknown;
}

export type ClientRequest =
  | SubscribeRequest
  | UnsubscribeRequest
  | PublishRequest
  | PresenceRequest
  | HistoryRequest
  | SendRequest
  | RefreshRequest;

// ---- gateway -> client ---------------------------------------------------------------------------------------

export interface SenderRef {
  user: string | null;
  session: string;
}

export interface WelcomeFrame {
  type: 'welcome';
  session: string;
  user: string | null;
  node: string;
  /** Protocol version negotiated. */
  protocol: string;
  /** Milliseconds between the gateway's pings; the client may use it to detect a dead link. */
  pingInterval: number;
  /** Milliseconds until the credential expires (absent: it does not); `refresh_required` comes before then. */
  expiresIn?: number;
  /**
   * Streaming transports only (SSE, HTTP streaming): the secret that authenticates this session's `POST /emulation`
   * requests. Never sent on a WebSocket.
   */
  secret?: string;
}
export interface SubscribedFrame {
  type: 'subscribed';
  /** Absent when a backend subscribed the session (server API). */
  id?: RequestId;
  channel: string;
  offset: number;
  epoch: string;
  /**
   * Present when the request asked for recovery: true when every missed publication is still in history and follows
   * in `publications` — all of them, or with `more`, the first ones.
   */
  recovered?: boolean;
  /** True when the replay stopped short of `offset` (the reply's byte budget): read the rest with `history`. */
  more?: boolean;
  publications?: MessageFrame[];
}
export interface UnsubscribedFrame {
  type: 'unsubscribed';
  /** Absent when the gateway removed the subscription on its own (server API, an expired subscription token). */
  id?: RequestId;
  channel: string;
  /** Why the gateway removed it, a catalogue code (`TOKEN_EXPIRED`); absent on replies and server API removals. */
  code?: string;
  reason?: string;
}
export interface PublishedFrame {
  type: 'published';
  id: RequestId;
  channel: string;
  offset: number;
  epoch: string;
}
export interface PresenceMember {
  user: string;
  sessions: number;
  /** What the member's credential says about them (a Pusher presence member's `user_info`); absent for wsgate members. */
  info?: unknown;
}
export interface PresenceFrame {
  type: 'presence';
  id: RequestId;
  channel: string;
  members: PresenceMember[];
}
export interface HistoryFrame {
  type: 'history';
  id: RequestId;
  channel: string;
  offset: number;
  epoch: string;
  /** False when `since` is older than the window kept (or from another epoch): some publications are gone. */
  recovered: boolean;
  /** True when the reply's byte budget ended it early: ask again `since` the last publication. */
  more?: boolean;
  publications: MessageFrame[];
}
export interface SentFrame {
  type: 'sent';
  id: RequestId;
  /**
   * Sessions of the recipient the message was sent to (across the cluster), present only where the gateway reveals it
   * (`directMessages.revealSessions`): the count tells whether the recipient is online.
   */
  sessions?: number;
}
export interface MessageFrame {
  type: 'message';
  channel: string;
  offset: number;
  epoch: string;
  data: unknown;
  /** Null when a backend published through the server API. */
  from: SenderRef | null;
}
export interface JoinFrame {
  type: 'join';
  channel: string;
  user: string;
  session: string;
  /** What the member's credential says about them (a Pusher presence member's `user_info`); absent for wsgate members. */
  info?: unknown;
}
export interface LeaveFrame {
  type: 'leave';
  channel: string;
  user: string;
  session: string;
}
export interface DirectFrame {
  type: 'direct';
  from: SenderRef;
  /** The recipient; on a mirrored copy (delivered to the sender's other sessions) it differs from the reader. */
  to: string;
  data: unknown;
}
export interface ReplyFrame {
  type: 'reply';
  id: RequestId;
  payload: unknown;
}
export interface ErrorFrame {
  type: 'error';
  id?: RequestId;
  code: string;
  message: string;
  /** Seconds to wait before retrying (rate limits). */
  retryAfter?: number;
}
/**
 * The session's credential (or, with `channel`, that subscription's token) expires in `expiresIn` ms: answer with
 * `refresh`, or the session is closed with 4004 (the subscription dropped with `unsubscribed {code: TOKEN_EXPIRED}`).
 */
export interface RefreshRequiredFrame {
  type: 'refresh_required';
  expiresIn: number;
  channel?: string;
}
/** Reply to `refresh`: the new credential is in force; `expiresIn` is null when it does not expire. */
export interface RefreshedFrame {
  type: 'refreshed';
  id: RequestId;
  expiresIn: number | null;
  channel?: string;
}
export interface DisconnectFrame {
  type: 'disconnect';
  code: number;
  reason: string;
  reconnect: boolean;
  /** Suggested delay in milliseconds before reconnecting (drain spreads clients over time). */
  after?: number;
}

/**
 * Publications of `channel` this session will never receive: offsets `from` through `to` (inclusive) of `epoch`; with
 * `to` null, every offset from `from` on in `epoch` (the stream was reset and continues under a new epoch). Sent when the
 * node could neither deliver them in order nor fill them from history. The subscription stays; the application reloads
 * the state the channel feeds.
 */
export interface LostFrame {
  type: 'lost';
  channel: string;
  epoch: string;
  from: number;
  to: number | null;
}

export type ServerFrame =
  | WelcomeFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | PublishedFrame
  | PresenceFrame
  | HistoryFrame
  | SentFrame
  | MessageFrame
  | JoinFrame
  | LeaveFrame
  | DirectFrame
  | ReplyFrame
  | ErrorFrame
  | RefreshRequiredFrame
  | RefreshedFrame
  | DisconnectFrame
  | LostFrame;

/** Built-in types a client may send. */
export const CLIENT_REQUEST_TYPES = ['subscribe', 'unsubscribe', 'publish', 'presence', 'history', 'send', 'refresh'] as const;

/** Types the gateway sends; application actions pushed by backends may not use these. */
export const SERVER_FRAME_TYPES = [
  'welcome', 'subscribed', 'unsubscribed', 'published', 'presence', 'history', 'sent', 'message', 'join', 'leave',
  'direct', 'reply', 'error', 'refresh_required', 'refreshed', 'disconnect', 'lost',
] as const;

const reservedTypes = new Set<string>([...CLIENT_REQUEST_TYPES, ...SERVER_FRAME_TYPES]);

/** True for types the protocol owns; application actions must use other names. */
export function isReservedType(type: string): boolean {
  return reservedTypes.has(type);
}
