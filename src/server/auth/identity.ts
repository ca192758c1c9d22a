import type { SessionPolicy } from '../engine/registry/registry.js';

/** Who a session is: established at the handshake, renewed by `refresh` (the user never changes once set). */
export interface Identity {
  /** Null for anonymous sessions. */
  user: string | null;
  claims: Record<string, unknown>;
  /** Epoch milliseconds when the credential expires; the session is asked to refresh before then and closed at it. */
  expiresAt?: number;
  /** The JWT's `jti`, which can be revoked on its own. */
  tokenId?: string;
  /** How the session authenticated, for metrics and logs (`pusher`: a Pusher-protocol connection, by its app key). */
  method: 'ticket' | 'jwt' | 'cookie' | 'hook' | 'anonymous' | 'pusher';
  /** The id of the Pusher app a Pusher-protocol connection belongs to. */
  pusherApp?: string;
}

/**
 * The claims of every identity that has none: one frozen object instead of an empty one per session (idle sessions
 * keep their identity for their lifetime). Frozen, so code that would write into a shared object fails loudly.
 */
export const NO_CLAIMS: Record<string, unknown> = Object.freeze({});

/** `claims`, or the shared empty object when it has no keys. */
export function claimsOrNone(claims: Record<string, unknown>): Record<string, unknown> {
  for (const _ in claims) return claims;
  return NO_CLAIMS;
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
