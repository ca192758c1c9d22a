/**
 * The one set of name rules of the protocol: channels, namespaces, user ids, session ids, request ids, epochs and
 * action types, with their length limits. Frame schemas, the server API, the config schema and the auth layer all use
 * these (a schema takes a pattern's `source`), so a limit is changed in one place.
 */

/** The longest namespace and the longest name after it. */
export const MAX_NAMESPACE_LENGTH = 64;
const MAX_CHANNEL_NAME_LENGTH = 200;

/** Namespaces: 1–64 characters of `[a-z0-9_-]`. The config schema keys namespaces with its `source`. */
export const NAMESPACE_PATTERN = new RegExp(`^[a-z0-9_-]{1,${MAX_NAMESPACE_LENGTH}}$`);

/**
 * Channel names are `namespace:name`. The namespace is 1–64 characters of `[a-z0-9_-]`; the name is 1–200 characters
 * of letters, digits and `_-.:/@=+,;`, so hierarchies such as `org:acme/view:order-17` are ordinary names, and so is
 * every Pusher channel name (whose alphabet adds `,` and `;`).
 */
const CHANNEL_PATTERN = new RegExp(`^([a-z0-9_-]{1,${MAX_NAMESPACE_LENGTH}}):([A-Za-z0-9_\\-.:/@=+,;]{1,${MAX_CHANNEL_NAME_LENGTH}})$`);

/** The longest valid channel: a 64-character namespace, `:` and a 200-character name. Every length check uses it. */
export const MAX_CHANNEL_LENGTH = MAX_NAMESPACE_LENGTH + 1 + MAX_CHANNEL_NAME_LENGTH;

/** Session ids (the gateway makes them: 16 base64url characters) are accepted up to this length wherever they are named. */
export const MAX_SESSION_ID_LENGTH = 64;

/** Request ids a client chooses: strings of 1–64 characters, or integers. */
export const MAX_REQUEST_ID_LENGTH = 64;

/** Channel epochs, as clients and backends echo them back. */
export const MAX_EPOCH_LENGTH = 64;

export interface ChannelName {
  namespace: string;
  name: string;
}

/** Splits a channel into namespace and name; null when the channel is not a valid name. */
export function parseChannel(channel: unknown): ChannelName | null {
  if (typeof channel !== 'string' || channel.length > MAX_CHANNEL_LENGTH) return null;
  const match = CHANNEL_PATTERN.exec(channel);
  if (!match) return null;
  return { namespace: match[1]!, name: match[2]! };
}

/** The longest user id. */
export const MAX_USER_ID_LENGTH = 128;

/** User ids: 1–128 characters of letters, digits and `_-.@:+`. Schemas use its `source`. */
export const USER_ID_PATTERN = new RegExp(`^[A-Za-z0-9_\\-.@:+]{1,${MAX_USER_ID_LENGTH}}$`);

export function isValidUserId(user: unknown): user is string {
  return typeof user === 'string' && USER_ID_PATTERN.test(user);
}

/**
 * Whether `value` matches `pattern`, where `*` stands for any characters and everything else is literal
 * (`org:acme/*`, `order.*`, `session.*`). The one wildcard of the project: channel grants, identity patterns,
 * action routes and type limits all match with it. No regular expression is built, so nothing needs escaping.
 */
export function matchesWildcard(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  const first = parts[0]!;
  const last = parts.at(-1)!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, at);
    if (found === -1 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/** The longest action type, and so the longest pattern over action types. */
export const MAX_ACTION_TYPE_LENGTH = 128;

/** Application action types: 1–128 characters of letters, digits and `._:/-`, not reserved. Schemas use its `source`. */
export const ACTION_TYPE_PATTERN = new RegExp(`^[A-Za-z0-9._:/-]{1,${MAX_ACTION_TYPE_LENGTH}}$`);

/** Patterns over action types (routes backends register): the same characters, plus `*` for any characters. */
export const ACTION_TYPE_MATCH_PATTERN = new RegExp(`^[*A-Za-z0-9._:/-]{1,${MAX_ACTION_TYPE_LENGTH}}$`);
