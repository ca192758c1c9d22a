/**
 * Channel names are `namespace:name`. The namespace is 1–64 characters of `[a-z0-9_-]`; the name is 1–200 characters
 * of letters, digits and `_-.:/@=+`, so hierarchies such as `org:acme/view:order-17` are ordinary names.
 */
const CHANNEL_PATTERN = /^([a-z0-9_-]{1,64}):([A-Za-z0-9_\-.:/@=+]{1,200})$/;

export const MAX_CHANNEL_LENGTH = 265;

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

/** User ids: 1–128 characters of letters, digits and `_-.@:+`. */
const USER_PATTERN = /^[A-Za-z0-9_\-.@:+]{1,128}$/;

export function isValidUserId(user: unknown): user is string {
  return typeof user === 'string' && USER_PATTERN.test(user);
}
