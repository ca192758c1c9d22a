import { randomBytes } from 'node:crypto';

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

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * One lifecycle event as endpoints receive it. `id` is unique and stays the same on every retry; `timestamp` is when
 * the node emitted it (ISO 8601); `node` is the node that emitted it.
 */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  timestamp: string;
  node: string;
  data: Record<string, unknown>;
}

/**
 * An event with what delivery needs to keep order: `key` is the user (`user:<id>`), the session of an anonymous
 * session (`session:<id>`) or the channel (`channel:<name>`) whose events are delivered in order; `seq` is the
 * transition number of the transition events (see TRANSITION_FAMILIES).
 */
export interface KeyedEvent {
  key: string;
  seq?: number;
  event: WebhookEvent;
}

/**
 * Event types that carry a transition number `seq`, by family: the engine numbers a family's transitions of one key
 * in the order it decided them (one more each time). Users' online/offline and channels' occupied/vacated alternate
 * (odd, even); a channel's presence transitions count every user's joins and leaves together.
 */
export const TRANSITION_FAMILIES: ReadonlyArray<{ name: string; types: readonly [WebhookEventType, WebhookEventType]; alternates: boolean }> = [
  { name: 'user', types: ['user.online', 'user.offline'], alternates: true },
  { name: 'occupancy', types: ['channel.occupied', 'channel.vacated'], alternates: true },
  { name: 'presence', types: ['presence.joined', 'presence.left'], alternates: false },
];

export const EventKey = {
  user: (user: string) => `user:${user}`,
  session: (session: string) => `session:${session}`,
  channel: (channel: string) => `channel:${channel}`,
  /** A session's events follow its user's order; an anonymous session is its own key. */
  ofSession: (session: string, user: string | null) => (user === null ? `session:${session}` : `user:${user}`),
} as const;

/** `evt_` + time (so ids sort roughly by emission) + 64 random bits. */
export function newEventId(now = Date.now()): string {
  return `evt_${now.toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}

/**
 * Which event types a pattern list selects: exact types, `*` for any characters (`session.*`, `*`). Throws naming the
 * pattern when it selects nothing.
 */
export function selectEventTypes(patterns: readonly string[]): Set<WebhookEventType> {
  const selected = new Set<WebhookEventType>();
  for (const pattern of patterns) {
    const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    const matches = WEBHOOK_EVENT_TYPES.filter((type) => regex.test(type));
    if (matches.length === 0) throw new Error(`"${pattern}" matches no event type (${WEBHOOK_EVENT_TYPES.join(', ')})`);
    for (const type of matches) selected.add(type);
  }
  return selected;
}
