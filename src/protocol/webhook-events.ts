import { matchesWildcard } from './names.js';

/** Every lifecycle event type a webhook endpoint can ask for. */
export const WEBHOOK_EVENT_TYPES = [
  'session.connected',
  'session.disconnected',
  'session.evicted',
  'user.online',
  'user.offline',
  'channel.occupied',
  'channel.vacated',
  'presence.joined',
  'presence.left',
  'channel.published',
] as const;

/**
 * Lifecycle events only Pusher's webhooks are made from (`cache_miss`, `subscription_count`): a native endpoint's
 * patterns never select them, so `*` does not start sending a count per subscribe.
 */
export const PUSHER_ONLY_EVENT_TYPES = ['channel.cache_miss', 'channel.subscription_count'] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number] | (typeof PUSHER_ONLY_EVENT_TYPES)[number];

/**
 * Which event types a pattern list selects: exact types, `*` for any characters (`session.*`, `*`). Throws naming the
 * pattern when it selects nothing.
 */
export function selectEventTypes(patterns: readonly string[]): Set<WebhookEventType> {
  const selected = new Set<WebhookEventType>();
  for (const pattern of patterns) {
    const matches = WEBHOOK_EVENT_TYPES.filter((type) => matchesWildcard(pattern, type));
    if (matches.length === 0) throw new Error(`"${pattern}" matches no event type (${WEBHOOK_EVENT_TYPES.join(', ')})`);
    for (const type of matches) selected.add(type);
  }
  return selected;
}
