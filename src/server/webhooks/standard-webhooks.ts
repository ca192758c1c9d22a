import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeSigningSecret } from '../config/signing-secret.js';
import type { WebhookEvent } from './events.js';
import type { WebhookFormat, WebhookRequest } from './webhook-format.js';

/**
 * The Standard Webhooks format (standardwebhooks.com): body `{"events": [...]}`, headers `webhook-id` (the batch's
 * message id, the same on every retry), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`:
 * `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, once per secret, space-separated, so a receiver accepts the
 * request while it knows any one of them (secrets rotate without downtime).
 */
export class StandardWebhooksFormat implements WebhookFormat {
  readonly name = 'standard-webhooks';
  private readonly keys: Buffer[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('Standard Webhooks needs at least one signing secret');
    this.keys = secrets.map(decodeSigningSecret);
  }

  encode(events: readonly WebhookEvent[], messageId: string, now: Date): WebhookRequest {
    const body = JSON.stringify({ events });
    const timestamp = String(Math.floor(now.getTime() / 1000));
    const signed = `${messageId}.${timestamp}.${body}`;
    const signature = this.keys.map((key) => `v1,${createHmac('sha256', key).update(signed).digest('base64')}`).join(' ');
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': messageId,
        'webhook-timestamp': timestamp,
        'webhook-signature': signature,
      },
    };
  }
}

/** Why a request did not verify. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

/**
 * Checks a Standard Webhooks request as a receiver does: the three headers are there, the timestamp is within
 * `toleranceSeconds` of now (replays of old requests fail), and one of the `v1` signatures matches one of `secrets`
 * (compared in constant time). Returns the parsed body; throws WebhookVerificationError otherwise.
 */
export function verifyStandardWebhook(
  secrets: readonly string[],
  headers: Record<string, string | string[] | undefined>,
  body: string,
  toleranceSeconds = 300,
  now = Date.now(),
): unknown {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(now / 1000 - seconds) > toleranceSeconds) throw new WebhookVerificationError('timestamp outside the tolerance');
  const signed = `${id}.${timestamp}.${body}`;
  const expected = secrets.map((secret) => createHmac('sha256', decodeSigningSecret(secret)).update(signed).digest());
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    if (expected.some((digest) => digest.length === given.length && timingSafeEqual(digest, given))) return JSON.parse(body) as unknown;
  }
  throw new WebhookVerificationError('no signature matches');
}
