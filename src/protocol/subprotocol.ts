/** Subprotocol names negotiated through `Sec-WebSocket-Protocol`. */
export const Subprotocol = {
  JSON_V1: 'wsgate.v1.json',
} as const;

export type SubprotocolName = (typeof Subprotocol)[keyof typeof Subprotocol];

export const SUPPORTED_SUBPROTOCOLS: readonly SubprotocolName[] = [Subprotocol.JSON_V1];

/** The protocol a client that offers no subprotocol gets. */
export const DEFAULT_SUBPROTOCOL: SubprotocolName = Subprotocol.JSON_V1;

/**
 * The Pusher Channels protocol (version 7), reached on its own path (`/app/{key}?protocol=7`) rather than negotiated
 * through `Sec-WebSocket-Protocol`, which pusher-js does not send.
 */
export const PUSHER_PROTOCOL = 'pusher.7';

/** Every protocol a session may speak: the negotiated subprotocols and Pusher's. */
export type ProtocolName = SubprotocolName | typeof PUSHER_PROTOCOL;
