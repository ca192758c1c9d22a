import type { SessionPolicy } from '../engine/registry/registry.js';

/** Who a session is, as established at the handshake. */
export interface Identity {
  /** Null for anonymous sessions. */
  user: string | null;
  claims: Record<string, unknown>;
  /** Epoch milliseconds when the credential expires (JWT `exp`); the session is closed then. */
  expiresAt?: number;
  /** How the session authenticated, for metrics and logs. */
  method: 'ticket' | 'jwt' | 'cookie' | 'anonymous';
}

/**
 * A credential may carry its own session policy in the `sessionPolicy` claim (`{max, onLimit}`), overriding the
 * configured default for that user: one user may be limited to a single tab while others have many.
 */
export function sessionPolicyFor(identity: Identity, fallback: SessionPolicy): SessionPolicy {
  const claim = identity.claims.sessionPolicy as Partial<SessionPolicy> | undefined;
  if (!claim || typeof claim !== 'object') return fallback;
  const max = Number.isInteger(claim.max) && (claim.max as number) >= 0 ? (claim.max as number) : fallback.max;
  const onLimit = claim.onLimit === 'kick-oldest' || claim.onLimit === 'reject-new' ? claim.onLimit : fallback.onLimit;
  return { max, onLimit };
}
