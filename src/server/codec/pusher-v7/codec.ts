/**
 * Folder pusher-v7/: the Pusher Channels protocol, version 7, as pusher-js speaks it — `{"event","channel","data"}`
 * frames whose `data` is JSON text for Pusher's own events. It owns the client-frame decoder (client-frames.ts), the
 * server events, the translation of the frames the node carries (publications whose data is a Pusher event, presence
 * joins and leaves, actions sent to a user) and Pusher's close codes (close-codes.ts). It imports only the codec root
 * and src/protocol/.
 */
import type { Disconnect } from '../../../protocol/close-codes.js';
import type { ErrorFrame, ServerFrame } from '../../../protocol/frames.js';
import { PUSHER_PROTOCOL } from '../../../protocol/subprotocol.js';
import { FrameKinds, type FrameKind } from '../frame-kinds.js';
import { PreparedFrame } from '../prepared-frame.js';
import type { ParsedFrame, ProtocolCodec } from '../protocol-codec.js';
import { PUSHER_CLOSE, pusherCloseCode } from './close-codes.js';
import { parsePusherFrame } from './client-frames.js';

/** The channel pusher-js reads a signed-in user's events on (`pusher.user.bind`). */
export function serverToUserChannel(user: string): string {
  return `#server-to-user-${user}`;
}

/** A member of a presence channel as Pusher describes it: the user id and the `user_info` the auth signed. */
export interface PusherMember {
  user: string;
  info?: unknown;
}

/**
 * One Pusher server event: `data` is sent as JSON text (a string as it is), which pusher-js parses back. `userId`
 * marks a client event on a presence channel with its sender.
 */
export function pusherEvent(event: string, data: unknown, channel?: string, userId?: string, kind: FrameKind = FrameKinds.action): PreparedFrame {
  return new PreparedFrame(pusherPayload(event, data, channel, userId), kind);
}

function pusherPayload(event: string, data: unknown, channel?: string, userId?: string): Buffer {
  const frame: Record<string, unknown> = { event };
  if (channel !== undefined) frame.channel = channel;
  frame.data = typeof data === 'string' ? data : JSON.stringify(data ?? {});
  if (userId !== undefined) frame.user_id = userId;
  return Buffer.from(JSON.stringify(frame), 'utf8');
}

/** `pusher_internal:member_added` / `member_removed`, marked with the member, whom the session's view of members tracks. */
function memberEvent(event: string, data: { user_id?: string; user_info?: unknown }, channel: string, kind: FrameKind): PreparedFrame {
  return new PreparedFrame(pusherPayload(event, data, channel), kind, null, null, data.user_id ?? null);
}

/** `pusher_internal:subscription_succeeded`; for a presence channel with its members (`{ids, hash, count}`). */
export function subscriptionSucceeded(channel: string, members?: readonly PusherMember[]): PreparedFrame {
  if (!members) return pusherEvent('pusher_internal:subscription_succeeded', {}, channel, undefined, FrameKinds.subscribed);
  const hash: Record<string, unknown> = {};
  for (const member of members) hash[member.user] = member.info ?? null;
  const presence = { ids: members.map((member) => member.user), hash, count: members.length };
  return pusherEvent('pusher_internal:subscription_succeeded', { presence }, channel, undefined, FrameKinds.subscribed);
}

/** `pusher:subscription_error`: the status Pusher's client reports (401 for a bad signature), and why. */
export function subscriptionError(channel: string, status: number, error: string): PreparedFrame {
  return pusherEvent('pusher:subscription_error', { type: 'AuthError', error, status }, channel, undefined, FrameKinds.error);
}

/** `pusher:error`: a Pusher code (null when Pusher has none for the failure) and a message. */
export function pusherError(code: number | null, message: string): PreparedFrame {
  return pusherEvent('pusher:error', { code, message }, undefined, undefined, FrameKinds.error);
}

/** The Pusher error code of a wsgate error frame, where Pusher has one. */
const PUSHER_ERROR_OF: Partial<Record<ErrorFrame['code'], number>> = { RATE_LIMITED: PUSHER_CLOSE.CLIENT_EVENT_RATE_LIMIT };

/**
 * The Pusher name of a wsgate channel: what follows its namespace (`pusher-<app>[-presence][-cache]:<name>`, see
 * pusher/channel-names.ts), since a namespace holds no colon.
 */
function pusherName(channel: string): string {
  return channel.slice(channel.indexOf(':') + 1);
}

/** The data of a publication that carries a Pusher event (pusher/channel-names.ts `PusherEventData`). */
interface CarriedPusherEvent {
  event: string;
  data: string;
  user_id?: string;
}

/**
 * The Pusher protocol's codec. It holds only the `activity_timeout` it announces, so one object serves every Pusher
 * session of the node.
 */
export class PusherV7Codec implements ProtocolCodec {
  readonly subprotocol = PUSHER_PROTOCOL;

  constructor(private readonly activityTimeoutSeconds: number) {}

  decode(text: string): ParsedFrame {
    return { kind: 'pusher', request: parsePusherFrame(text) };
  }

  encode(frame: ServerFrame): PreparedFrame {
    switch (frame.type) {
      case 'welcome':
        return pusherEvent('pusher:connection_established', { socket_id: frame.session, activity_timeout: this.activityTimeoutSeconds }, undefined, undefined, FrameKinds.welcome);
      case 'subscribed':
        return subscriptionSucceeded(pusherName(frame.channel));
      case 'error':
        return pusherError(PUSHER_ERROR_OF[frame.code] ?? null, frame.message);
      case 'disconnect':
        return this.encodeDisconnect(frame);
      default:
        // Frames with no Pusher counterpart (a server-side unsubscribe, a refresh request) reach the client as errors
        // it can log; pusher-js acts on none of them.
        return pusherError(null, `wsgate ${frame.type}`);
    }
  }

  closeCode(code: number): number {
    return pusherCloseCode(code);
  }

  encodeDisconnect(disconnect: Disconnect): PreparedFrame {
    return pusherError(pusherCloseCode(disconnect.code), disconnect.reason);
  }

  encodeHistoryReply(): PreparedFrame {
    return pusherError(null, 'history is not part of the Pusher protocol');
  }

  encodeRecoveredReply(_id: unknown, channel: string): PreparedFrame {
    return subscriptionSucceeded(pusherName(channel));
  }

  translate(frame: PreparedFrame, channel: string | null, recipient?: string | null): PreparedFrame | null {
    if (channel !== null) {
      if (frame.kind !== FrameKinds.message && frame.kind !== FrameKinds.join && frame.kind !== FrameKinds.leave) return null;
      return frame.translatedInto(PUSHER_PROTOCOL, channel, () => channelEvent(frame, pusherName(channel)));
    }
    if (frame.kind !== FrameKinds.action || !recipient) return null;
    return frame.translatedInto(PUSHER_PROTOCOL, recipient, () => userEvent(frame, recipient));
  }
}

/**
 * A channel's publication or presence event as a Pusher event. A publication whose data is not a Pusher event (a
 * wsgate client or backend published to the channel) reaches Pusher clients as the event `message` with that data.
 */
function channelEvent(frame: PreparedFrame, channel: string): PreparedFrame | null {
  const carried = JSON.parse(frame.payload.toString('utf8')) as { type: string; data?: unknown; user?: string; info?: unknown };
  if (carried.type === 'join') return memberEvent('pusher_internal:member_added', { user_id: carried.user, user_info: carried.info ?? null }, channel, FrameKinds.join);
  if (carried.type === 'leave') return memberEvent('pusher_internal:member_removed', { user_id: carried.user }, channel, FrameKinds.leave);
  if (carried.type !== 'message') return null;
  const data = carried.data as Partial<CarriedPusherEvent> | null;
  if (data && typeof data === 'object' && typeof data.event === 'string' && typeof data.data === 'string') {
    return pusherEvent(data.event, data.data, channel, typeof data.user_id === 'string' ? data.user_id : undefined, FrameKinds.message);
  }
  return pusherEvent('message', JSON.stringify(carried.data ?? null), channel, undefined, FrameKinds.message);
}

/** An action sent to a user (`{type, payload}`) as the user event pusher-js's `pusher.user.bind(type)` receives. */
function userEvent(frame: PreparedFrame, user: string): PreparedFrame {
  const action = JSON.parse(frame.payload.toString('utf8')) as { type: string; payload: unknown };
  return pusherEvent(action.type, typeof action.payload === 'string' ? action.payload : JSON.stringify(action.payload), serverToUserChannel(user));
}
