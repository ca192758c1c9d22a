import { WsgateError } from '../../protocol/errors.js';
import type { FoundRevocation, RevocationStore, RevocationTarget } from '../engine/revocations/revocations.js';

/** What a credential names that can be revoked. */
export interface RevocableCredential {
  user: string | null;
  tokenId?: string;
}

/**
 * Refuses credentials of revoked users and revoked token ids: handshakes, refreshes and subscription tokens all pass
 * through it. One store round trip per check (none for anonymous credentials without a token id).
 */
export class RevocationGuard {
  constructor(private readonly store: RevocationStore) {}

  /** Throws CREDENTIAL_REVOKED, with the revocation's reason, when the user or the token id is revoked. */
  async assertAllowed(credential: RevocableCredential): Promise<void> {
    const found = await this.find(credential);
    if (found) throw revokedError(found);
  }

  find(credential: RevocableCredential): Promise<FoundRevocation | null> {
    const targets = revocationTargets(credential);
    return targets.length === 0 ? Promise.resolve(null) : this.store.find(targets);
  }
}

/** What a credential names that can be revoked, the user first. */
export function revocationTargets(credential: RevocableCredential): RevocationTarget[] {
  const targets: RevocationTarget[] = [];
  if (credential.user !== null) targets.push({ kind: 'user', id: credential.user });
  if (credential.tokenId !== undefined) targets.push({ kind: 'token', id: credential.tokenId });
  return targets;
}

/** The refusal of a credential whose user or token id is revoked. */
export function revokedError(found: FoundRevocation): WsgateError {
  const what = found.target.kind === 'user' ? 'the user is revoked' : 'the token is revoked';
  return new WsgateError('CREDENTIAL_REVOKED', `${what} until ${new Date(found.until).toISOString()}: ${found.reason}`);
}
