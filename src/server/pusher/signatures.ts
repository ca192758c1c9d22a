import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { PusherAppConfig } from '../config/schema.js';

/** HMAC-SHA256 of `text` under the app's secret, in lower-case hex: every Pusher signature is one. */
export function pusherHmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** Compares two signatures in constant time (different lengths are simply unequal). */
export function signaturesEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A socket id in Pusher's form, `<digits>.<digits>`: client SDKs and server SDKs check it with `^\d+\.\d+$`. Random,
 * so one cannot guess another connection's id (it is what channel signatures are bound to).
 */
export function newSocketId(): string {
  return `${randomInt(1, 2 ** 47)}.${randomInt(1, 2 ** 47)}`;
}

export const SOCKET_ID_PATTERN = /^\d+\.\d+$/;

/**
 * The `auth` of a `pusher:subscribe` to a private or presence channel: `<key>:<hmac>` over `socket_id:channel`, or over
 * `socket_id:channel:channel_data` for presence channels. True when it is the app's.
 */
export function verifyChannelAuth(app: PusherAppConfig, socketId: string, channel: string, auth: unknown, channelData?: string): boolean {
  const text = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return verifyKeyedSignature(app, text, auth);
}

/** The `auth` of `pusher:signin`: `<key>:<hmac>` over `socket_id::user::user_data`. */
export function verifyUserAuth(app: PusherAppConfig, socketId: string, userData: string, auth: unknown): boolean {
  return verifyKeyedSignature(app, `${socketId}::user::${userData}`, auth);
}

function verifyKeyedSignature(app: PusherAppConfig, text: string, auth: unknown): boolean {
  if (typeof auth !== 'string') return false;
  const colon = auth.indexOf(':');
  if (colon === -1 || auth.slice(0, colon) !== app.key) return false;
  return signaturesEqual(pusherHmac(app.secret, text), auth.slice(colon + 1));
}

/** The failures of a signed HTTP API request, each with the status Pusher answers it with. */
export type RequestAuthFailure =
  | { status: 400; reason: 'body_md5 does not match the body' | 'auth_version must be 1.0' }
  | { status: 401; reason: 'missing auth parameters' | 'unknown auth_key' | 'invalid signature' | 'auth_timestamp outside the allowed window' };

/**
 * Checks a request signed by Pusher's query scheme: the query carries `auth_key`, `auth_timestamp`, `auth_version`
 * (`1.0`), `body_md5` (hex MD5 of a non-empty body) and `auth_signature`, the HMAC of
 * `METHOD\nPATH\nquery` where query is every other parameter, keys in lower case, sorted, as `key=value` joined by
 * `&`. `nowMs` and `windowSeconds` bound `auth_timestamp`. Null when the request is the app's and fresh.
 */
export function verifyRequestSignature(
  app: PusherAppConfig,
  request: { method: string; path: string; query: Readonly<Record<string, string | string[] | undefined>>; body: string },
  nowMs: number,
  windowSeconds: number,
): RequestAuthFailure | null {
  const params = new Map<string, string>();
  for (const [key, value] of Object.entries(request.query)) {
    if (value === undefined) continue;
    params.set(key.toLowerCase(), Array.isArray(value) ? value.join(',') : value);
  }
  const signature = params.get('auth_signature');
  const key = params.get('auth_key');
  const timestamp = params.get('auth_timestamp');
  if (signature === undefined || key === undefined || timestamp === undefined) return { status: 401, reason: 'missing auth parameters' };
  if (key !== app.key) return { status: 401, reason: 'unknown auth_key' };
  if ((params.get('auth_version') ?? '1.0') !== '1.0') return { status: 400, reason: 'auth_version must be 1.0' };
  const seconds = Number(timestamp);
  if (!Number.isFinite(seconds) || Math.abs(nowMs / 1000 - seconds) > windowSeconds) return { status: 401, reason: 'auth_timestamp outside the allowed window' };
  if (request.body.length > 0 && params.get('body_md5') !== createHash('md5').update(request.body, 'utf8').digest('hex')) {
    return { status: 400, reason: 'body_md5 does not match the body' };
  }
  params.delete('auth_signature');
  const query = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => `${name}=${value}`).join('&');
  const expected = pusherHmac(app.secret, `${request.method.toUpperCase()}\n${request.path}\n${query}`);
  return signaturesEqual(expected, signature) ? null : { status: 401, reason: 'invalid signature' };
}

/** The `X-Pusher-Signature` of a webhook body: the HMAC of the body under the app's secret. */
export function webhookSignature(app: PusherAppConfig, body: string): string {
  return pusherHmac(app.secret, body);
}
