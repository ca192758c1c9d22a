/**
 * Folder codec/: every encoder and decoder of what the node writes and reads — client frames, server frames, the
 * pre-framed WebSocket bytes (PreparedFrame) with the metadata readers need, the broker's channel envelope and inbox
 * messages, history replies, and the frame kinds traffic metrics count. One protocol codec interface (this file), one
 * folder per wire protocol beside it (`wsgate-v1/`, `pusher-v7/`). The node carries frames between sessions and nodes
 * in wsgate.v1.json bytes; a session's codec turns them into its own protocol's bytes. codec/ imports only src/protocol/,
 * node built-ins, ws and the schema validator (TypeBox, Ajv); every layer above may import it (engine/ included), it
 * imports none of them.
 */
import type { Disconnect } from '../../protocol/close-codes.js';
import { WsgateError } from '../../protocol/errors.js';
import type { ApplicationAction, ClientRequest, RequestId, ServerFrame, StreamPosition } from '../../protocol/frames.js';
import type { ProtocolName } from '../../protocol/subprotocol.js';
import type { PusherRequest } from './pusher-v7/client-frames.js';
import type { PreparedFrame } from './prepared-frame.js';

/** A client frame as the node handles it: a built-in request, or an application action with its text. */
export type ParsedFrame =
  | { kind: 'request'; request: ClientRequest }
  | { kind: 'action'; action: ApplicationAction; raw: string }
  /** A Pusher-protocol event the node's Pusher component handles (see pusher-v7/). */
  | { kind: 'pusher'; request: PusherRequest };

/** A request-level failure that knows the id to echo. */
export class RequestError extends WsgateError {
  constructor(readonly requestId: RequestId | undefined, code: ConstructorParameters<typeof WsgateError>[0], message?: string) {
    super(code, message);
  }
}

/** A publication replayed from history: its offset and the JSON it was stored as. */
export interface ReplayedPublication {
  offset: number;
  dataJson: string;
  fromJson: string;
}

/**
 * One wire protocol, negotiated at the handshake (`Sec-WebSocket-Protocol`). A session holds its codec and encodes
 * everything it is sent through it. Codecs are stateless: one object serves every session of the protocol.
 */
export interface ProtocolCodec {
  readonly subprotocol: ProtocolName;
  /**
   * Reads one client text frame. Throws a WsgateError (BAD_FRAME, BAD_REQUEST, ACTION_RESERVED), a RequestError when
   * the frame's request id could be read.
   */
  decode(text: string): ParsedFrame;
  /** A server frame the node built for this session. */
  encode(frame: ServerFrame): PreparedFrame;
  /** The WebSocket close code a session of this protocol ends with for a wsgate close code (close-codes.ts). */
  closeCode(code: number): number;
  /** The frame that tells the client why the session ends (`after`: a reconnect hint in milliseconds). */
  encodeDisconnect(disconnect: Disconnect, after?: number): PreparedFrame;
  /** A `history` reply: one page of publications embedded as stored (`more` when the page was cut short). */
  encodeHistoryReply(
    id: RequestId, channel: string, position: StreamPosition, recovered: boolean, more: boolean, publications: readonly ReplayedPublication[],
  ): PreparedFrame;
  /** A `subscribed` reply that replays what the client missed (recovery). */
  encodeRecoveredReply(
    id: RequestId | undefined, channel: string, position: StreamPosition, recovered: boolean, more: boolean, publications: readonly ReplayedPublication[],
  ): PreparedFrame;
  /**
   * A frame the node carries in wsgate.v1.json bytes as this protocol's frame, with the same metadata: a channel's
   * publication, presence event or `lost` range (`channel` is the channel), or a direct message or a backend's action
   * (`channel` null; `recipient` is the user of the session it goes to). The v1 codec returns it as it is, so every
   * subscriber shares one frame; another protocol converts it from the frame's kind, position and payload, caching the
   * conversion on the frame (`PreparedFrame.translatedInto`), so it is done once per publication, not per subscriber.
   * Null: the protocol has no such frame, and the session is sent nothing.
   */
  translate(frame: PreparedFrame, channel: string | null, recipient?: string | null): PreparedFrame | null;
}
