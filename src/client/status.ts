import type { TransportName } from './stream-link.js';

/** The connection status of a client, as a discriminated union on `type`. */
export type ClientStatus = ConnectingStatus | ConnectedStatus | ReconnectingStatus | DisconnectedStatus;

/** Dialling: fetching a credential, opening the socket, waiting for `welcome`. */
export interface ConnectingStatus {
  type: 'connecting';
  /** The transport this attempt uses. */
  transport: TransportName;
}

/** The gateway sent `welcome`; the ids change with every new connection. */
export interface ConnectedStatus {
  type: 'connected';
  session: string;
  /** Null for an anonymous session. */
  user: string | null;
  node: string;
  /** What carries the session: a WebSocket, or a streaming fallback (SSE or HTTP streaming, with POSTs). */
  transport: TransportName;
}

/** Waiting `delay` ms before reconnect attempt number `attempt` (1 for the first retry after a connection was lost). */
export interface ReconnectingStatus {
  type: 'reconnecting';
  attempt: number;
  delay: number;
}

/**
 * Not connected and not trying to: before `connect()`, after `disconnect()` (code 1000) or after a terminal close code
 * (4500–4999, e.g. 4501 kicked by a newer session). Call `connect()` to start again.
 */
export interface DisconnectedStatus {
  type: 'disconnected';
  code: number;
  reason: string;
}
