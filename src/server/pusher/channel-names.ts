import { PUSHER_NAMESPACE_PREFIX, pusherNamespaceName } from '../config/pusher-namespaces.js';

/**
 * Pusher channel names: letters, digits and `_-=@,.;`, at most 164 characters. The prefix says what the channel is:
 * `private-`, `private-encrypted-`, `presence-`, and `cache-` after any of those (or alone).
 */
const MAX_PUSHER_CHANNEL_LENGTH = 164;
export const PUSHER_CHANNEL_PATTERN = new RegExp(`^[A-Za-z0-9_\\-=@,.;]{1,${MAX_PUSHER_CHANNEL_LENGTH}}$`);

export type PusherChannelKind = 'public' | 'private' | 'private-encrypted' | 'presence';

/** What a Pusher channel's name says about it. */
export interface PusherChannelInfo {
  kind: PusherChannelKind;
  /** A cache channel: its last event is kept and sent to every new subscriber (or `pusher:cache_miss`). */
  cache: boolean;
}

/** The kind of a valid Pusher channel name; null for a name Pusher refuses. */
export function pusherChannelInfo(name: string): PusherChannelInfo | null {
  if (!PUSHER_CHANNEL_PATTERN.test(name)) return null;
  const [kind, rest] = name.startsWith('private-encrypted-')
    ? (['private-encrypted', name.slice(18)] as const)
    : name.startsWith('private-')
      ? (['private', name.slice(8)] as const)
      : name.startsWith('presence-')
        ? (['presence', name.slice(9)] as const)
        : (['public', name] as const);
  return { kind, cache: rest.startsWith('cache-') };
}

/**
 * The wsgate namespace of a Pusher app's channels of one sort: presence channels and cache channels need rules of
 * their own (presence on; a history of one), so an app has up to four namespaces. The app id is at most 40
 * characters, so the namespace stays within the 64 a namespace may have.
 */
function pusherNamespace(appId: string, info: PusherChannelInfo): string {
  return pusherNamespaceName(appId, { presence: info.kind === 'presence', cache: info.cache });
}

/** The wsgate channel that carries a Pusher channel of an app: `pusher-<app>[-presence][-cache]:<pusher name>`. */
export function toWsgateChannel(appId: string, name: string): string | null {
  const info = pusherChannelInfo(name);
  if (!info) return null;
  return `${pusherNamespace(appId, info)}:${name}`;
}

const APP_ID = /^[a-z0-9_-]{1,40}$/;

/**
 * The app and Pusher name of a wsgate channel that carries a Pusher channel; null for any other channel. The Pusher
 * name decides the namespace's suffix, so an app id that itself ends in `-presence` or `-cache` is read right.
 */
export function fromWsgateChannel(channel: string): { appId: string; name: string } | null {
  if (!channel.startsWith(PUSHER_NAMESPACE_PREFIX)) return null;
  const colon = channel.indexOf(':');
  if (colon === -1) return null;
  const name = channel.slice(colon + 1);
  const info = pusherChannelInfo(name);
  if (!info) return null;
  const namespace = channel.slice(0, colon);
  const suffix = pusherNamespaceName('', { presence: info.kind === 'presence', cache: info.cache }).slice(PUSHER_NAMESPACE_PREFIX.length);
  if (!namespace.endsWith(suffix)) return null;
  const appId = namespace.slice(PUSHER_NAMESPACE_PREFIX.length, namespace.length - suffix.length);
  return APP_ID.test(appId) ? { appId, name } : null;
}

/**
 * The data of a wsgate publication that carries a Pusher event: the event name, its `data` string as Pusher sends it,
 * and the sender's user id for client events on presence channels. Pusher-protocol sessions get it as
 * `{"event","channel","data"[,"user_id"]}`; wsgate-protocol sessions of the same channel see this object as `data`.
 */
export interface PusherEventData {
  event: string;
  data: string;
  user_id?: string;
}
