import { NO_PARENT, SpanName, tracedFetch } from '../observability/tracing.js';
import type { WebhookEndpoint } from './endpoints.js';
import type { WebhookEvent } from './events.js';

/** How one request went: `ok` (2xx), a status class, a timeout or a network error, with a line for dead letters. */
export interface AttemptOutcome {
  outcome: 'ok' | 'http_1xx' | 'http_3xx' | 'http_4xx' | 'http_5xx' | 'timeout' | 'error';
  detail: string;
}

/**
 * Posts one batch to an endpoint: encoded and signed by the endpoint's format at the moment of sending (the
 * signature covers the attempt's time), bounded by the endpoint's timeout. Redirects are not followed: a moved
 * endpoint is a configuration to fix, not something to chase with signed payloads.
 */
export async function postBatch(endpoint: WebhookEndpoint, events: readonly WebhookEvent[], messageId: string, attempt = 0): Promise<AttemptOutcome> {
  const request = endpoint.format.encode(events, messageId, new Date());
  const attributes = { 'wsgate.webhook.endpoint': endpoint.name, 'wsgate.webhook.events': events.length, 'wsgate.webhook.message_id': messageId, 'wsgate.webhook.attempt': attempt + 1 };
  try {
    // Each attempt is a trace of its own: a batch gathers events of many requests, and retries may span hours.
    const response = await tracedFetch(SpanName.webhookDelivery, attributes, endpoint.url, {
      method: 'POST',
      headers: { ...request.headers, 'user-agent': 'wsgate-webhooks' },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    }, NO_PARENT);
    // Read (and drop) the answer so the connection goes back to the pool.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { outcome: 'ok', detail: `HTTP ${response.status}` };
    return { outcome: `http_${Math.floor(response.status / 100)}xx` as AttemptOutcome['outcome'], detail: `HTTP ${response.status}` };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { outcome: 'timeout', detail: `no answer within ${endpoint.timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { outcome: 'error', detail: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}
