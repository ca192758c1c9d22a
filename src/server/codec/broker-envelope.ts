import { shouldReconnect } from '../../protocol/close-codes.js';
import type { JoinFrame, LeaveFrame, StreamPosition } from '../../protocol/frames.js';
import { FrameKinds, type FrameKind } from './frame-kinds.js';
import { PreparedFrame } from './prepared-frame.js';
import { classify } from './wsgate-v1/frame-type.js';

/**
 * Wire formats of what crosses the broker.
 *
 * Channel envelope (so the fan-out path never parses JSON):
 *   `[0x02]<offset> <epoch> <exclude>\n<frame>`
 * - `offset` is decimal ASCII, `0` for a frame without a stream position (presence events);
 * - `epoch` is the channel's epoch (empty when offset is 0); epochs never contain a space or a newline;
 * - `exclude` names the session that must not receive the frame (the publisher), empty for none;
 * - `frame` is the exact bytes written to sockets.
 * The header is plain text so a Redis script can build the whole envelope in the same step that assigns the offset.
 */
const ENVELOPE_VERSION = 0x02;
const SPACE = 0x20;
const NEWLINE = 0x0a;
/** Offsets stay below 2^53; a header longer than this is not an envelope. */
const MAX_HEADER = 512;

export function encodeChannelEnvelope(frame: Buffer, excludeSession: string | null, position: StreamPosition | null = null): Buffer {
  const header = Buffer.from(`\u0002${position ? position.offset : 0} ${position ? position.epoch : ''} ${excludeSession ?? ''}\n`, 'utf8');
  return Buffer.concat([header, frame], header.length + frame.length);
}

/**
 * A publication frame with holes for its offset and epoch, which only the step that assigns them knows (a Redis script
 * fills them in the same step). The frame is `beforeOffset + offset + beforeEpoch + epoch + afterEpoch`; the epoch is
 * inserted as is, so epochs are plain tokens (hex digits, letters, `-`) that need no escaping in JSON.
 */
export interface FrameTemplate {
  beforeOffset: string;
  beforeEpoch: string;
  afterEpoch: string;
}

/** The envelope of a publication built from its frame template; Redis scripts build the same bytes (see engine/broker/redis-channel-publisher.ts). */
export function encodePublicationEnvelope(template: FrameTemplate, excludeSession: string | null, position: StreamPosition): Buffer {
  const frame = `${template.beforeOffset}${position.offset}${template.beforeEpoch}${position.epoch}${template.afterEpoch}`;
  return Buffer.from(`\u0002${position.offset} ${position.epoch} ${excludeSession ?? ''}\n${frame}`, 'utf8');
}

/** A presence event to the channel's subscribers but `excludeSession`; it has no place in the stream. */
export function encodeEventEnvelope(event: JoinFrame | LeaveFrame, excludeSession: string | null): Buffer {
  return encodeChannelEnvelope(Buffer.from(JSON.stringify(event), 'utf8'), excludeSession);
}

export interface ChannelEnvelope {
  /** The publication's place in the channel's stream; null for frames outside it (presence events). */
  position: StreamPosition | null;
  /** A `message` with a position; otherwise the event's kind, read once here for every subscriber. */
  kind: FrameKind;
  excludeSession: string | null;
  frame: Buffer;
}

/** Decodes an envelope; the frame is a view into `payload` (no copy). Null when the payload is not an envelope. */
export function decodeChannelEnvelope(payload: Buffer): ChannelEnvelope | null {
  if (payload.length < 5 || payload[0] !== ENVELOPE_VERSION) return null;
  const end = payload.indexOf(NEWLINE, 1);
  if (end < 0 || end > MAX_HEADER) return null;
  const firstSpace = payload.indexOf(SPACE, 1);
  if (firstSpace < 0 || firstSpace > end) return null;
  const secondSpace = payload.indexOf(SPACE, firstSpace + 1);
  if (secondSpace < 0 || secondSpace > end) return null;
  const offset = Number(payload.toString('latin1', 1, firstSpace));
  if (!Number.isSafeInteger(offset) || offset < 0) return null;
  const epoch = payload.toString('utf8', firstSpace + 1, secondSpace);
  if (offset > 0 && epoch === '') return null;
  const frame = payload.subarray(end + 1);
  return {
    position: offset === 0 ? null : { offset, epoch },
    kind: offset === 0 ? classify(frame) : FrameKinds.message,
    excludeSession: secondSpace + 1 === end ? null : payload.toString('utf8', secondSpace + 1, end),
    frame,
  };
}

/** Messages a node sends to another node's inbox. */
export type InboxMessage =
  /** Deliver `frame` to every local session of `user` (but `exclude`). */
  | { kind: 'user'; user: string; frame: string; exclude?: string }
  /** Deliver `frame` to one local session. */
  | { kind: 'session'; session: string; frame: string }
  /** Close local sessions (by id, or all of a user's) with a disconnect frame (reconnect follows from the code). */
  | { kind: 'disconnect'; sessions?: string[]; user?: string; code: number; reason: string }
  /** Server-side subscription change for local sessions (by id, or all of a user's). */
  | { kind: 'subscribe' | 'unsubscribe'; channel: string; sessions?: string[]; user?: string }
  /** Move the credential deadline of local sessions (by id, or all of a user's): `ttlMs` from now, or none. */
  | { kind: 'expiry'; sessions?: string[]; user?: string; ttlMs: number | null }
  /** A token id was revoked: end local sessions and subscriptions that rest on it. */
  | { kind: 'revoke-token'; tokenId: string; reason: string }
  | EmulationMessage;

/**
 * Client frames a `POST /emulation` brought to another node, for a local session on a streaming transport: applied
 * when `secret` is the session's, in `seq` order when it is given.
 */
export interface EmulationMessage {
  kind: 'emulation';
  session: string;
  secret: string;
  seq?: number;
  /** Client frames as JSON text. */
  frames: string[];
}

export function encodeInboxMessage(message: InboxMessage): Buffer {
  // Nodes of earlier versions read a disconnect's `reconnect` instead of deriving it from the code.
  const written = message.kind === 'disconnect' ? { ...message, reconnect: shouldReconnect(message.code) } : message;
  return Buffer.from(JSON.stringify(written), 'utf8');
}

export function decodeInboxMessage(payload: Buffer): InboxMessage | null {
  try {
    const value = JSON.parse(payload.toString('utf8')) as InboxMessage;
    return value && typeof value === 'object' && typeof value.kind === 'string' ? value : null;
  } catch {
    return null;
  }
}

/**
 * The frame of a `user` or `session` inbox message, prepared once for the node's recipients. It is JSON text another
 * node's v1 encoder wrote (a direct message or a backend's action), so its kind is read from its first bytes here.
 */
export function inboxFrame(json: string): PreparedFrame {
  const payload = Buffer.from(json, 'utf8');
  return new PreparedFrame(payload, classify(payload));
}
