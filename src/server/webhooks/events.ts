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
 * transition number of `user.online`/`user.offline` and `channel.occupied`/`channel.vacated`.
 */
export interface KeyedEvent {
  key: string;
  seq?: number;
  event: WebhookEvent;
}

/** Event types whose events carry a transition number, by the pairs they alternate in. */
export const TRANSITION_PAIRS: ReadonlyArray<readonly [WebhookEventType, WebhookEventType]> = [
  ['user.online', 'user.offline'],
  ['channel.occupied', 'channel.vacated'],
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
