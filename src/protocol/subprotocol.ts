/** Subprotocol names negotiated through `Sec-WebSocket-Protocol`. */
export const Subprotocol = {
  JSON_V1: 'wsgate.v1.json',
} as const;

export type SubprotocolName = (typeof Subprotocol)[keyof typeof Subprotocol];

export const SUPPORTED_SUBPROTOCOLS: readonly SubprotocolName[] = [Subprotocol.JSON_V1];

/** The protocol a client that offers no subprotocol gets. */
export const DEFAULT_SUBPROTOCOL: SubprotocolName = Subprotocol.JSON_V1;
