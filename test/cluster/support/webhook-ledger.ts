import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { ReceivedEvent, WebhookReceiver } from '../../support/webhook-receiver.js';

/** Transition families as docs/webhooks.md states them: which types, keyed how, alternating or not. */
const FAMILIES = [
  { name: 'user', types: ['user.online', 'user.offline'], key: (event: ReceivedEvent) => `user:${String(event.data.user)}`, alternates: true },
  { name: 'occupancy', types: ['channel.occupied', 'channel.vacated'], key: (event: ReceivedEvent) => `channel:${String(event.data.channel)}`, alternates: true },
  { name: 'presence', types: ['presence.joined', 'presence.left'], key: (event: ReceivedEvent) => `channel:${String(event.data.channel)}`, alternates: false },
] as const;

export interface LedgerSummary {
  queued: number;
  distinct: number;
  received: number;
  duplicates: number;
  transitions: number;
}

/**
 * Checks everything a receiver got against the events the nodes queued (`queued`: ids from their logs):
 * - every queued event reached the receiver at least once, in a request it answered 2xx;
 * - a duplicate is a retry: every copy of an id carries the same event;
 * - each transition happened once: per user and channel, the family's numbers run 1, 2, 3, … with one event each,
 *   online/offline (occupied/vacated) alternate, and every key ends gone (offline, vacated, every member left);
 * - order: in the order events first reached the receiver, each family's numbers only grow, and a session's
 *   `session.connected` comes before its `session.disconnected`.
 */
export function checkLedger(receiver: WebhookReceiver, queued: ReadonlySet<string>): LedgerSummary {
  assert.deepEqual(receiver.rejected, [], 'every request verified with the standardwebhooks package');
  const delivered = new Set(receiver.delivered().map((event) => event.id));
  const missing = [...queued].filter((id) => !delivered.has(id));
  assert.deepEqual(missing, [], `${missing.length} of ${queued.size} queued events never delivered`);

  const first = new Map<string, ReceivedEvent>();
  const order: ReceivedEvent[] = [];
  let received = 0;
  for (const event of receiver.sent()) {
    received++;
    const seen = first.get(event.id);
    if (seen) {
      assert.ok(isDeepStrictEqual(seen, event), `a duplicate of ${event.id} is the same event`);
      continue;
    }
    first.set(event.id, event);
    order.push(event);
  }
  for (const id of first.keys()) assert.ok(delivered.has(id), `${id} was sent but never taken (2xx)`);

  let transitions = 0;
  for (const family of FAMILIES) {
    const byKey = new Map<string, ReceivedEvent[]>();
    for (const event of order) {
      if (!(family.types as readonly string[]).includes(event.type)) continue;
      const list = byKey.get(family.key(event)) ?? [];
      list.push(event);
      byKey.set(family.key(event), list);
    }
    for (const [key, events] of byKey) {
      const seqs = events.map((event) => Number(event.data.seq));
      const sorted = [...seqs].sort((a, b) => a - b);
      assert.deepEqual(seqs, sorted, `${family.name} transitions of ${key} reached the receiver in order: ${describe(events)}`);
      assert.deepEqual(sorted, Array.from({ length: sorted.length }, (_, i) => i + 1), `${family.name} transitions of ${key} happened once each: ${describe(events)}`);
      if (family.alternates) {
        events.forEach((event, i) => assert.equal(event.type, family.types[i % 2], `${key}: transition ${i + 1} is ${family.types[i % 2]}: ${describe(events)}`));
      } else {
        const members = new Map<string, string>();
        for (const event of events) {
          const user = String(event.data.user);
          assert.notEqual(members.get(user), event.type, `${key}: ${user} ${event.type} twice in a row: ${describe(events)}`);
          members.set(user, event.type);
        }
        for (const [user, last] of members) assert.equal(last, family.types[1], `${key}: ${user} left in the end`);
      }
      assert.equal(events.at(-1)!.type, family.types[1], `${key} ends ${family.types[1]}`);
      transitions += events.length;
    }
  }

  const connected = new Set<string>();
  for (const event of order) {
    if (event.type === 'session.connected') connected.add(String(event.data.session));
    if (event.type === 'session.disconnected') assert.ok(connected.has(String(event.data.session)), `${String(event.data.session)} connected before it disconnected`);
  }
  return { queued: queued.size, distinct: first.size, received, duplicates: received - first.size, transitions };
}

function describe(events: ReceivedEvent[]): string {
  return events.map((event) => `${event.type}#${String(event.data.seq)}@${event.node}`).join(', ');
}

/**
 * True once the receiver has every queued event and every user, channel and member it heard of is gone again (the last
 * transition of each is offline, vacated, left): nothing is being decided or delivered for them any more.
 */
export function isSettled(receiver: WebhookReceiver, queued: ReadonlySet<string>): boolean {
  return unsettled(receiver, queued).length === 0;
}

/** What keeps the receiver from being settled: undelivered ids, keys not gone (for failure messages). */
export function unsettled(receiver: WebhookReceiver, queued: ReadonlySet<string>): string[] {
  const delivered = receiver.delivered();
  const ids = new Set(delivered.map((event) => event.id));
  const undelivered = [...queued].filter((id) => !ids.has(id));
  if (undelivered.length > 0) return [`${undelivered.length} undelivered`];
  const last = new Map<string, ReceivedEvent>();
  for (const event of delivered) {
    for (const family of FAMILIES) {
      if (!(family.types as readonly string[]).includes(event.type)) continue;
      const key = `${family.key(event)}#${family.name}${family.alternates ? '' : `:${String(event.data.user)}`}`;
      const previous = last.get(key);
      if (!previous || Number(previous.data.seq) < Number(event.data.seq)) last.set(key, event);
    }
  }
  return [...last.entries()]
    .filter(([, event]) => !(event.type.endsWith('offline') || event.type.endsWith('vacated') || event.type.endsWith('left')))
    .map(([key, event]) => `${key}: ${event.type}#${String(event.data.seq)}`);
}

/** Every request the receiver got, in order: its status and its events as `type:user-or-channel#seq`. */
export function describeRequests(receiver: WebhookReceiver): string[] {
  return receiver.requests.map((request) => `${request.status} ${request.events.map((event) => `${event.type}:${String(event.data.user ?? event.data.channel)}#${String(event.data.seq)}`).join(',')}`);
}
