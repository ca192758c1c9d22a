/**
 * Wire formats of what crosses the broker.
 *
 * Channel envelope (binary, so the fan-out path never parses JSON): `[0x01][u16 length][exclude session utf8][frame]`.
 * `exclude` names the session that must not receive the frame (the publisher); empty for none.
 *
 * Inbox messages are small JSON objects; a carried frame is a string that is written to sockets as-is.
 */
const ENVELOPE_VERSION = 0x01;

export function encodeChannelEnvelope(frame: Buffer, excludeSession: string | null): Buffer {
  const exclude = excludeSession ? Buffer.from(excludeSession, 'utf8') : EMPTY;
  const header = Buffer.allocUnsafe(3);
  header[0] = ENVELOPE_VERSION;
  header.writeUInt16BE(exclude.length, 1);
  return Buffer.concat([header, exclude, frame], 3 + exclude.length + frame.length);
}

export interface ChannelEnvelope {
  excludeSession: string | null;
  frame: Buffer;
}

/** Decodes an envelope; the frame is a view into `payload` (no copy). Null when the payload is not an envelope. */
export function decodeChannelEnvelope(payload: Buffer): ChannelEnvelope | null {
  if (payload.length < 3 || payload[0] !== ENVELOPE_VERSION) return null;
  const excludeLength = payload.readUInt16BE(1);
  if (payload.length < 3 + excludeLength) return null;
  return {
    excludeSession: excludeLength === 0 ? null : payload.toString('utf8', 3, 3 + excludeLength),
    frame: payload.subarray(3 + excludeLength),
  };
}

const EMPTY = Buffer.alloc(0);

/** Messages a node sends to another node's inbox. */
export type InboxMessage =
  /** Deliver `frame` to every local session of `user` (but `exclude`). */
  | { kind: 'user'; user: string; frame: string; exclude?: string }
  /** Deliver `frame` to one local session. */
  | { kind: 'session'; session: string; frame: string }
  /** Close local sessions (by id, or all of a user's) with a disconnect frame. */
  | { kind: 'disconnect'; sessions?: string[]; user?: string; code: number; reason: string; reconnect: boolean }
  /** Server-side subscription change for local sessions (by id, or all of a user's). */
  | { kind: 'subscribe' | 'unsubscribe'; channel: string; sessions?: string[]; user?: string }
  /** Move the credential deadline of local sessions (by id, or all of a user's): `ttlMs` from now, or none. */
  | { kind: 'expiry'; sessions?: string[]; user?: string; ttlMs: number | null }
  /** A token id was revoked: end local sessions and subscriptions that rest on it. */
  | { kind: 'revoke-token'; tokenId: string; reason: string };

export function encodeInboxMessage(message: InboxMessage): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

export function decodeInboxMessage(payload: Buffer): InboxMessage | null {
  try {
    const value = JSON.parse(payload.toString('utf8')) as InboxMessage;
    return value && typeof value === 'object' && typeof value.kind === 'string' ? value : null;
  } catch {
    return null;
  }
}
