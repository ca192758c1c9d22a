import type { WebhookEventType } from '../../protocol/webhook-events.js';
import type { Config } from '../config/schema.js';
import { checkWebhookEndpoints } from '../config/webhook-endpoints.js';
import { StandardWebhooksFormat } from './standard-webhooks.js';
import type { WebhookEvent } from './events.js';
import type { WebhookFormat } from './webhook-format.js';

/** A configured endpoint, ready to deliver to. */
export interface WebhookEndpoint {
  /** Names its partitions and dead letters in the engine, and the endpoint in the server API and metrics. */
  readonly name: string;
  readonly url: string;
  readonly events: ReadonlySet<WebhookEventType>;
  /** Of the events of its types, those it takes (a Pusher app's endpoint: its app's channels); absent: all of them. */
  readonly accepts?: (event: WebhookEvent) => boolean;
  readonly format: WebhookFormat;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly lingerMs: number;
}

/** Checks `webhooks.endpoints` (see `checkWebhookEndpoints`) and builds each endpoint's format. */
export function resolveEndpoints(config: Readonly<Config['webhooks']>): WebhookEndpoint[] {
  return checkWebhookEndpoints(config).map(({ name, events, secrets }, index) => {
    const endpoint = config.endpoints[index]!;
    return {
      name, url: endpoint.url, events, format: new StandardWebhooksFormat(secrets), timeoutMs: endpoint.timeoutMs,
      concurrency: endpoint.concurrency, batchSize: endpoint.batchSize, lingerMs: endpoint.lingerMs,
    };
  });
}

/** The engine partition an endpoint's events for `key` go to. */
export function partitionName(endpoint: string, index: number): string {
  return `${endpoint}/${index}`;
}
