/**
 * Channel names are `namespace:name`. The namespace is 1–64 characters of `[a-z0-9_-]`; the name is 1–200 characters
 * of letters, digits and `_-.:/@=+`, so hierarchies such as `org:acme/view:order-17` are ordinary names.
 */
const CHANNEL_PATTERN = /^([a-z0-9_-]{1,64}):([A-Za-z0-9_\-.:/@=+]{1,200})$/;

/** The longest valid channel: a 64-character namespace, `:` and a 200-character name. Every length check uses it. */
export const MAX_CHANNEL_LENGTH = 64 + 1 + 200;

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

/** User ids: 1–128 characters of letters, digits and `_-.@:+`. Schemas use its `source`. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_\-.@:+]{1,128}$/;

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
