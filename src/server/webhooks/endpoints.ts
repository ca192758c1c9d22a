import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { selectEventTypes, type WebhookEventType } from './events.js';
import { StandardWebhooksFormat } from './standard-webhooks.js';
import type { WebhookFormat } from './webhook-format.js';

/** A configured endpoint, ready to deliver to. */
export interface WebhookEndpoint {
  /** Names its partitions and dead letters in the engine, and the endpoint in the server API and metrics. */
  readonly name: string;
  readonly url: string;
  readonly events: ReadonlySet<WebhookEventType>;
  readonly format: WebhookFormat;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly lingerMs: number;
}

/** A webhooks setting the node cannot run with; the message names the key. */
export class WebhookConfigError extends Error {
  override readonly name = 'WebhookConfigError';
}

/** Checks `webhooks.endpoints` and builds each endpoint's format; throws WebhookConfigError naming the key at fault. */
export function resolveEndpoints(config: Readonly<Config['webhooks']>): WebhookEndpoint[] {
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
    let format: WebhookFormat;
    try {
      format = new StandardWebhooksFormat(secrets);
    } catch (error) {
      throw new WebhookConfigError(`${key}.secrets: ${(error as Error).message}`);
    }
    return {
      name, url: endpoint.url, events, format, timeoutMs: endpoint.timeoutMs, concurrency: endpoint.concurrency,
      batchSize: endpoint.batchSize, lingerMs: endpoint.lingerMs,
    };
  });
}

/** The engine partition an endpoint's events for `key` go to. */
export function partitionName(endpoint: string, index: number): string {
  return `${endpoint}/${index}`;
}
