import { LRUCache } from 'lru-cache';
import { WsgateError } from '../../protocol/errors.js';
import type { Identity } from '../auth/identity.js';
import type { AuthorizeBackendConfig } from '../config/schema.js';
import { SpanName, tracedFetch } from '../observability/tracing.js';

export type ChannelAction = 'subscribe' | 'publish' | 'presence' | 'history';

/** What the backend receives for each decision: a channel action, or a direct message (`send`) to user `to`. */
export interface AuthorizeCall {
  channel?: string;
  to?: string;
  action: ChannelAction | 'send';
  user: string | null;
  claims: Record<string, unknown>;
  session: string;
}

/** Answers kept at most; beyond it the least recently used are forgotten. */
const MAX_CACHED = 100_000;

/**
 * Asks a backend whether an identity may use a channel (or send to a user): `POST <authorize.url>` with an AuthorizeCall;
 * `200 {"allow": true}` or `204` grant, `200 {"allow": false}` or `403` deny. Anything else — an error status, a
 * timeout, an unreachable backend — denies (fail closed) with BACKEND_ERROR or BACKEND_TIMEOUT and is not remembered.
 * Definite answers are remembered per user (or session, for anonymous ones), channel (or recipient) and action.
 */
export class BackendAuthorizer {
  private readonly cache: LRUCache<string, boolean>;

  /** `now` (epoch milliseconds) times the remembered answers; tests pass their own clock. */
  constructor(now: () => number = Date.now) {
    // ttlResolution 0: read the clock on every lookup instead of caching it for a millisecond.
    this.cache = new LRUCache({ max: MAX_CACHED, perf: { now }, ttlResolution: 0 });
  }

  async allows(rules: AuthorizeBackendConfig, call: AuthorizeCall): Promise<boolean> {
    const key = `${call.user ?? `session:${call.session}`}\n${call.channel ?? `to:${call.to}`}\n${call.action}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const allow = await this.ask(rules, call);
    if (rules.cacheSeconds > 0) this.cache.set(key, allow, { ttl: rules.cacheSeconds * 1000 });
    return allow;
  }

  private async ask(rules: AuthorizeBackendConfig, call: AuthorizeCall): Promise<boolean> {
    let response: Response;
    try {
      const attributes = { 'wsgate.authorize.action': call.action, 'wsgate.session': call.session, ...(call.channel !== undefined ? { 'wsgate.channel': call.channel } : {}) };
      response = await tracedFetch(SpanName.authorize, attributes, rules.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(rules.apiKey ? { authorization: `Bearer ${rules.apiKey}` } : {}) },
        body: JSON.stringify(call),
        signal: AbortSignal.timeout(rules.timeoutMs),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') throw new WsgateError('BACKEND_TIMEOUT', 'the authorization backend did not answer in time');
      throw new WsgateError('BACKEND_ERROR', 'the authorization backend is unreachable', { cause: error });
    }
    if (response.status === 204) return true;
    if (response.status === 403) return false;
    if (response.status !== 200) throw new WsgateError('BACKEND_ERROR', `the authorization backend answered ${response.status}`);
    const body = (await response.json().catch(() => null)) as { allow?: unknown } | null;
    if (typeof body?.allow !== 'boolean') throw new WsgateError('BACKEND_ERROR', 'the authorization backend answered without "allow"');
    return body.allow;
  }
}

/** Identity fields a decision needs. */
export function authorizeCall(channel: string, action: ChannelAction, identity: Identity, session: string): AuthorizeCall {
  return { channel, action, user: identity.user, claims: identity.claims, session };
}
