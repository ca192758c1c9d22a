import { createHash } from 'node:crypto';
import { selectEventTypes, type WebhookEventType } from '../../protocol/webhook-events.js';
import type { Config } from './schema.js';
import { decodeSigningSecret } from './signing-secret.js';

/** A webhooks setting the node cannot run with; the message names the key. */
export class WebhookConfigError extends Error {
  override readonly name = 'WebhookConfigError';
}

/** A configured endpoint's settings as checked: its name, the event types it selects and the secrets that sign for it. */
export interface CheckedEndpoint {
  name: string;
  events: Set<WebhookEventType>;
  /** The endpoint's own secrets, or `webhooks.secrets`; never empty, each a valid signing secret. */
  secrets: readonly string[];
}

/**
 * Checks `webhooks.endpoints`: unique names (an unnamed endpoint is named after its URL), event patterns that select
 * something, and signing secrets that decode. Throws WebhookConfigError naming the first key at fault.
 */
export function checkWebhookEndpoints(config: Readonly<Config['webhooks']>): CheckedEndpoint[] {
  const names = new Set<string>();
  return config.endpoints.map((endpoint, index) => {
    const key = `webhooks.endpoints[${index}]`;
    const name = endpoint.name || `endpoint-${createHash('sha256').update(endpoint.url).digest('hex').slice(0, 10)}`;
    if (names.has(name)) throw new WebhookConfigError(`${key}.name: "${name}" names another endpoint too (two endpoints with one URL need names)`);
    names.add(name);
    let events: Set<WebhookEventType>;
    try {
      events = selectEventTypes(endpoint.events);
    } catch (error) {
      throw new WebhookConfigError(`${key}.events: ${(error as Error).message}`);
    }
    const secrets = endpoint.secrets.length > 0 ? endpoint.secrets : config.secrets;
    if (secrets.length === 0) throw new WebhookConfigError(`${key}.secrets: no signing secret (set it, or webhooks.secrets)`);
    try {
      for (const secret of secrets) decodeSigningSecret(secret);
    } catch (error) {
      throw new WebhookConfigError(`${key}.secrets: ${(error as Error).message}`);
    }
    return { name, events, secrets };
  });
}

/** The events of Pusher's webhooks, as `pusher.apps[].webhooks[].events` names them. */
export const PUSHER_WEBHOOK_EVENTS = [
  'channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count',
] as const;

export type PusherWebhookEvent = (typeof PUSHER_WEBHOOK_EVENTS)[number];

/** A Pusher app's webhook as checked: the endpoint name its queue and dead letters go by, and the events it wants. */
export interface CheckedPusherWebhook {
  name: string;
  appIndex: number;
  url: string;
  events: Set<PusherWebhookEvent>;
}

/**
 * Checks `pusher.apps[].webhooks`: event names Pusher knows (none: all of them), and endpoint names
 * (`pusher-<app>-<n>`, in the same engine queues as `webhooks.endpoints`) that no configured endpoint (`taken`) has.
 */
export function checkPusherWebhooks(apps: Readonly<Config['pusher']['apps']>, taken: ReadonlySet<string>): CheckedPusherWebhook[] {
  return apps.flatMap((app, appIndex) => app.webhooks.map((webhook, index) => {
    const key = `pusher.apps[${appIndex}].webhooks[${index}]`;
    const name = `pusher-${app.id}-${index}`;
    if (taken.has(name)) throw new WebhookConfigError(`webhooks.endpoints: the name "${name}" belongs to ${key}`);
    const unknown = webhook.events.find((event) => !(PUSHER_WEBHOOK_EVENTS as readonly string[]).includes(event));
    if (unknown !== undefined) throw new WebhookConfigError(`${key}.events: "${unknown}" is not a Pusher webhook event (${PUSHER_WEBHOOK_EVENTS.join(', ')})`);
    const events = new Set((webhook.events.length > 0 ? webhook.events : PUSHER_WEBHOOK_EVENTS) as readonly PusherWebhookEvent[]);
    return { name, appIndex, url: webhook.url, events };
  }));
}
