import { WsgateError } from '../../protocol/errors.js';
import type { Identity } from '../auth/identity.js';
import type { NamespaceConfig } from '../config/schema.js';

export type ChannelAction = 'subscribe' | 'publish' | 'presence' | 'history';

/** What the backend receives for each decision. */
export interface AuthorizeCall {
  channel: string;
  action: ChannelAction;
  user: string | null;
  claims: Record<string, unknown>;
  session: string;
}

/** Answers kept at most; beyond it the oldest are forgotten. */
const MAX_CACHED = 100_000;

/**
 * Asks the namespace's backend whether an identity may use a channel: `POST <authorize.url>` with an AuthorizeCall;
 * `200 {"allow": true}` or `204` grant, `200 {"allow": false}` or `403` deny. Anything else — an error status, a
 * timeout, an unreachable backend — denies (fail closed) with BACKEND_ERROR or BACKEND_TIMEOUT and is not remembered.
 * Definite answers are remembered per user (or session, for anonymous ones), channel and action.
 */
export class BackendAuthorizer {
  private readonly cache = new Map<string, { allow: boolean; expiresAt: number }>();

  async allows(rules: NonNullable<NamespaceConfig['authorize']>, call: AuthorizeCall): Promise<boolean> {
    const key = `${call.user ?? `session:${call.session}`}\n${call.channel}\n${call.action}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.allow;
    const allow = await this.ask(rules, call);
    if (rules.cacheSeconds > 0) {
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { allow, expiresAt: Date.now() + rules.cacheSeconds * 1000 });
    }
    return allow;
  }

  private async ask(rules: NonNullable<NamespaceConfig['authorize']>, call: AuthorizeCall): Promise<boolean> {
    let response: Response;
    try {
      response = await fetch(rules.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(rules.apiKey ? { authorization: `Bearer ${rules.apiKey}` } : {}) },
        body: JSON.stringify(call),
        signal: AbortSignal.timeout(rules.timeoutMs),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') throw new WsgateError('BACKEND_TIMEOUT', 'the channel authorization backend did not answer in time');
      throw new WsgateError('BACKEND_ERROR', 'the channel authorization backend is unreachable', { cause: error });
    }
    if (response.status === 204) return true;
    if (response.status === 403) return false;
    if (response.status !== 200) throw new WsgateError('BACKEND_ERROR', `the channel authorization backend answered ${response.status}`);
    const body = (await response.json().catch(() => null)) as { allow?: unknown } | null;
    if (typeof body?.allow !== 'boolean') throw new WsgateError('BACKEND_ERROR', 'the channel authorization backend answered without "allow"');
    return body.allow;
  }
}

/** Identity fields a decision needs. */
export function authorizeCall(channel: string, action: ChannelAction, identity: Identity, session: string): AuthorizeCall {
  return { channel, action, user: identity.user, claims: identity.claims, session };
}
