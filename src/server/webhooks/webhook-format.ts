import type { WebhookEvent } from './events.js';

/** One HTTP request for a batch of events: what is sent, and how it is signed. */
export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

/**
 * How an endpoint wants a batch of events encoded and signed. The events are in delivery order; `messageId` is the
 * same on every attempt of the batch; `now` is the attempt's time (signatures cover it). Standard Webhooks is the
 * native format; another protocol's webhooks (Pusher's) are another implementation.
 */
export interface WebhookFormat {
  readonly name: string;
  encode(events: readonly WebhookEvent[], messageId: string, now: Date): WebhookRequest;
}
