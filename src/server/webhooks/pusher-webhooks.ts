import type { WebhookEventType } from '../../protocol/webhook-events.js';
import type { Config, PusherAppConfig } from '../config/schema.js';
import { checkPusherWebhooks, type PusherWebhookEvent } from '../config/webhook-endpoints.js';
import { fromWsgateChannel, pusherChannelInfo, type PusherEventData } from '../pusher/channel-names.js';
import { webhookSignature } from '../pusher/signatures.js';
import type { WebhookEndpoint } from './endpoints.js';
import type { WebhookEvent } from './events.js';
import type { WebhookFormat, WebhookRequest } from './webhook-format.js';

/** The lifecycle event each Pusher webhook event is built from. */
const SOURCES: Readonly<Record<PusherWebhookEvent, WebhookEventType>> = {
  channel_occupied: 'channel.occupied',
  channel_vacated: 'channel.vacated',
  member_added: 'presence.joined',
  member_removed: 'presence.left',
  client_event: 'channel.published',
  cache_miss: 'channel.cache_miss',
  subscription_count: 'channel.subscription_count',
};

/** Sent like a native endpoint's: the defaults of `webhooks.endpoints[]`. */
const DELIVERY = { timeoutMs: 10_000, concurrency: 4, batchSize: 50, lingerMs: 20 } as const;

/** One event of a Pusher webhook body. */
type PusherWebhookItem = Record<string, unknown> & { name: PusherWebhookEvent; channel: string };

/**
 * The endpoints of `pusher.apps[].webhooks`, delivered by the same outbox and dispatcher as the native ones (durable
 * in the engine, batched, retried, taken over from a lost node). Each takes only the events of its app's channels,
 * and of client publications only the client events.
 */
export function pusherEndpoints(apps: Readonly<Config['pusher']['apps']>, taken: ReadonlySet<string>): WebhookEndpoint[] {
  return checkPusherWebhooks(apps, taken).map(({ name, appIndex, url, events }) => {
    const app = apps[appIndex]!;
    const types = new Set([...events].map((event) => SOURCES[event]));
    return { name, url, events: types, format: new PusherWebhookFormat(app), accepts: (event) => toPusherItem(app, event) !== null, ...DELIVERY };
  });
}

/**
 * Pusher's webhook format: body `{"time_ms": <ms>, "events": [...]}`, `X-Pusher-Key` the app's key and
 * `X-Pusher-Signature` the hex HMAC-SHA256 of the body under the app's secret (what the server SDKs' `webhook()`
 * checks). Pusher's events carry no id: a retried batch is the same events again.
 */
export class PusherWebhookFormat implements WebhookFormat {
  readonly name = 'pusher';

  constructor(private readonly app: PusherAppConfig) {}

  encode(events: readonly WebhookEvent[], _messageId: string, now: Date): WebhookRequest {
    const body = JSON.stringify({ time_ms: now.getTime(), events: events.flatMap((event) => toPusherItem(this.app, event) ?? []) });
    return {
      body,
      headers: { 'content-type': 'application/json', 'x-pusher-key': this.app.key, 'x-pusher-signature': webhookSignature(this.app, body) },
    };
  }
}

/** A lifecycle event as the app's Pusher webhook event; null when it is not about the app's channels. */
function toPusherItem(app: PusherAppConfig, event: WebhookEvent): PusherWebhookItem | null {
  const data = event.data;
  const pusherChannel = typeof data.channel === 'string' ? fromWsgateChannel(data.channel) : null;
  if (!pusherChannel || pusherChannel.appId !== app.id) return null;
  const channel = pusherChannel.name;
  switch (event.type) {
    case 'channel.occupied':
      return { name: 'channel_occupied', channel };
    case 'channel.vacated':
      return { name: 'channel_vacated', channel };
    case 'presence.joined':
      return { name: 'member_added', channel, user_id: data.user };
    case 'presence.left':
      return { name: 'member_removed', channel, user_id: data.user };
    case 'channel.published':
      return clientEvent(channel, data);
    case 'channel.cache_miss':
      return { name: 'cache_miss', channel };
    case 'channel.subscription_count':
      // Pusher counts presence channels by their members (member_added / member_removed), not by subscriptions.
      return pusherChannelInfo(channel)?.kind === 'presence' ? null : { name: 'subscription_count', channel, subscription_count: data.subscribers };
    default:
      return null;
  }
}

/** A client's `client-*` event, as the node reports a publication carrying a Pusher event (`PusherEventData`). */
function clientEvent(channel: string, data: Record<string, unknown>): PusherWebhookItem | null {
  const published = data.data as Partial<PusherEventData> | null;
  if (typeof published !== 'object' || published === null) return null;
  if (typeof published.event !== 'string' || !published.event.startsWith('client-') || typeof published.data !== 'string') return null;
  return {
    name: 'client_event', channel, event: published.event, data: published.data, socket_id: data.session,
    ...(typeof published.user_id === 'string' ? { user_id: published.user_id } : {}),
  };
}
