import { createHash, createHmac } from 'node:crypto';
import Pusher from 'pusher';
import type { PusherAppConfig } from '../../../src/server/config/schema.js';

/** Apps of the Pusher tests: one with Pusher's defaults, one with small limits. */
export const APP = { id: 'app-1', key: 'app-1-key', secret: 'app-1-secret-0123456789' } as const;
export const SMALL_APP = { id: 'small', key: 'small-key', secret: 'small-secret-0123456789', maxEventBytes: 64 } as const;
export const PUSHER_APPS: Array<Partial<PusherAppConfig>> = [APP, SMALL_APP];

/** The unmodified `pusher` server SDK, pointed at a gateway. */
export function pusherSdk(port: number, app: { id: string; key: string; secret: string } = APP): Pusher {
  return new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false });
}

/** A request's failure as the SDK reports it: the status and the plain-text body. */
export async function refusal(promise: Promise<unknown>): Promise<{ status: number | undefined; body: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Pusher.RequestError) return { status: error.status, body: error.body };
    throw error;
  }
  throw new Error('the request succeeded');
}

/**
 * A request signed by hand (Pusher's query scheme, computed here with node:crypto), with what a test wants wrong:
 * another timestamp, another secret, or a `body_md5` that does not match.
 */
export async function signedFetch(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: string; params?: Record<string, string>; timestamp?: number; secret?: string; bodyMd5?: string; key?: string } = {},
): Promise<{ status: number; text: string }> {
  const params: Record<string, string> = {
    auth_key: options.key ?? APP.key,
    auth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...options.params,
  };
  if (options.body !== undefined) params.body_md5 = options.bodyMd5 ?? createHash('md5').update(options.body).digest('hex');
  const query = Object.keys(params).sort().map((key) => `${key}=${params[key]}`).join('&');
  const signature = createHmac('sha256', options.secret ?? APP.secret).update(`${method}\n${path}\n${query}`).digest('hex');
  const response = await fetch(`http://127.0.0.1:${port}${path}?${query}&auth_signature=${signature}`, {
    method,
    ...(options.body === undefined ? {} : { body: options.body, headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, text: await response.text() };
}

/** The SDK's own `post`, as its `trigger` calls it: with the body as an object (its typings say string; it stringifies it). */
export function sdkPost(sdk: Pusher, path: string, body: Record<string, unknown>): ReturnType<Pusher['post']> {
  return sdk.post({ path, body: body as unknown as string });
}
