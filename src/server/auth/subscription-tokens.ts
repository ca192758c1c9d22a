import { WsgateError } from '../../protocol/errors.js';
import { matchesWildcard } from '../../protocol/names.js';
import type { RevocationGuard } from './revocation-guard.js';
import type { TokenVerifier } from './token-verifier.js';

/** What a subscription token may permit on its channel. */
const GRANTABLE_ACTIONS = ['subscribe', 'publish', 'presence', 'history'] as const;
export type GrantableAction = (typeof GRANTABLE_ACTIONS)[number];

/** Access a verified subscription token grants to one channel until `expiresAt`. */
export interface SubscriptionGrant {
  actions: readonly GrantableAction[];
  /** Epoch milliseconds (the token's `exp`). */
  expiresAt: number;
  tokenId?: string;
}

/**
 * Subscription tokens: short-lived JWTs, signed with the keys of `auth.jwt`, that grant one session access to a
 * channel without asking a backend. Claims: `channel` (the channel, or a pattern where `*` matches any characters),
 * `actions` (default `["subscribe"]`; must include `subscribe`), `exp` (required), `sub` (must be the session's user;
 * absent for anonymous sessions), `jti` (optional, revocable).
 */
export class SubscriptionTokens {
  constructor(private readonly verifier: TokenVerifier, private readonly revocations: RevocationGuard) {}

  /** Throws TOKEN_INVALID, TOKEN_EXPIRED, KEYS_UNAVAILABLE or CREDENTIAL_REVOKED. */
  async verify(token: string, user: string | null, channel: string): Promise<SubscriptionGrant> {
    const payload = await this.verifier.payload(token, ['exp', 'channel']);
    const subject = payload.sub === undefined || payload.sub === '' ? null : payload.sub;
    if (subject !== user) throw new WsgateError('TOKEN_INVALID', 'the subscription token is for another user');
    if (typeof payload.channel !== 'string' || !matchesWildcard(payload.channel, channel)) {
      throw new WsgateError('TOKEN_INVALID', 'the subscription token is for another channel');
    }
    const actions = payload.actions ?? ['subscribe'];
    if (!Array.isArray(actions) || !actions.every((action) => (GRANTABLE_ACTIONS as readonly unknown[]).includes(action))) {
      throw new WsgateError('TOKEN_INVALID', `the subscription token's actions must be some of ${GRANTABLE_ACTIONS.join(', ')}`);
    }
    if (!actions.includes('subscribe')) throw new WsgateError('TOKEN_INVALID', 'the subscription token does not grant subscribe');
    const grant: SubscriptionGrant = { actions: actions as GrantableAction[], expiresAt: payload.exp! * 1000 };
    if (typeof payload.jti === 'string' && payload.jti !== '') grant.tokenId = payload.jti;
    await this.revocations.assertAllowed({ user, tokenId: grant.tokenId });
    return grant;
  }
}
