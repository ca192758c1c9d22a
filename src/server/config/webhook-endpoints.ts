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
