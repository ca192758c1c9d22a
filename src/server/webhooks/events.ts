import { randomBytes } from 'node:crypto';
import type { WebhookEventType } from '../../protocol/webhook-events.js';

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

/** 48 random bits per process: with the time and a counter, ids never repeat across nodes and restarts. */
const PROCESS_TAG = randomBytes(6).toString('hex');
let counter = 0;

/**
 * `evt_` + time (so ids sort roughly by emission) + this process's random tag + a counter. Unique without asking the
 * kernel for randomness per event, which costs more than the rest of the id.
 */
export function newEventId(now = Date.now()): string {
  counter = (counter + 1) % 0x1000000;
  return `evt_${now.toString(36).padStart(9, '0')}${PROCESS_TAG}${counter.toString(16).padStart(6, '0')}`;
}

/**
 * The partition of an event key among `partitions`: FNV-1a of the key, the same on every node. (Not the keyspace's
 * SHA-1 jump hash: this runs once per event, and partitions are not resized while a queue holds events.)
 */
export function partitionOfKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
