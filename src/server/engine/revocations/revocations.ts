/**
 * RevocationStore: users and token ids (`jti`) that may not open or refresh sessions until a given time, shared by
 * every node of the cluster.
 *
 * Guarantee: once `revoke` resolves, `find` on every node that shares the store reports the revocation until its
 * `until`, after which it is gone by itself (nothing has to sweep it). Revoking a target again replaces the earlier
 * revocation (so `until` can be moved either way); `lift` removes it.
 */
export interface RevocationStore {
  revoke(target: RevocationTarget, revocation: Revocation): Promise<void>;
  /** The first revocation in force among `targets` (in their order), or null when none is. */
  find(targets: readonly RevocationTarget[]): Promise<FoundRevocation | null>;
  /** False when the target was not revoked (or its revocation had lapsed). */
  lift(target: RevocationTarget): Promise<boolean>;
}

/** A user id, or the `jti` of a token. */
export interface RevocationTarget {
  kind: 'user' | 'token';
  id: string;
}

export interface Revocation {
  /** Epoch milliseconds when the revocation lapses. */
  until: number;
  reason: string;
  /** Epoch milliseconds of the `revoke` call. */
  revokedAt: number;
}

export interface FoundRevocation extends Revocation {
  target: RevocationTarget;
}
