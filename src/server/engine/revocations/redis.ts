import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { FoundRevocation, Revocation, RevocationStore, RevocationTarget } from './revocations.js';

/**
 * Revocations in Redis: `{u:<user>}:revoked` (beside the user's registry keys) and `{j:<jti>}:revoked`, each holding
 * the revocation as JSON with a PX expiry at `until`, so Redis drops it by itself. `find` reads every target's key at
 * once (one round trip; the keys may live on different shards or slots).
 */
export class RedisRevocationStore implements RevocationStore {
  constructor(private readonly keyspace: RedisKeyspace) {}

  async revoke(target: RevocationTarget, revocation: Revocation): Promise<void> {
    const [tag, key] = this.locate(target);
    const ttlMs = Math.max(1, Math.round(revocation.until - Date.now()));
    await this.keyspace.client(tag).set(key, JSON.stringify(revocation), 'PX', ttlMs);
  }

  async find(targets: readonly RevocationTarget[]): Promise<FoundRevocation | null> {
    const values = await Promise.all(targets.map((target) => {
      const [tag, key] = this.locate(target);
      return this.keyspace.client(tag).get(key);
    }));
    return firstInForce(targets, values);
  }

  async lift(target: RevocationTarget): Promise<boolean> {
    const [tag, key] = this.locate(target);
    return (await this.keyspace.client(tag).del(key)) > 0;
  }

  private locate(target: RevocationTarget): [tag: string, key: string] {
    return locateRevocation(this.keyspace, target);
  }
}

/** The routing tag and key of a target's revocation (the registry's registration script reads them too). */
export function locateRevocation(keyspace: RedisKeyspace, target: RevocationTarget): [tag: string, key: string] {
  const tag = target.kind === 'user' ? RoutingTag.user(target.id) : RoutingTag.token(target.id);
  return [tag, keyspace.key(tag, 'revoked')];
}

/** The first revocation in force among the values of the targets' keys (null where a key is absent). */
export function firstInForce(targets: readonly RevocationTarget[], values: ReadonlyArray<string | null>): FoundRevocation | null {
  const now = Date.now();
  for (const [index, raw] of values.entries()) {
    if (raw === null) continue;
    const revocation = JSON.parse(raw) as Revocation;
    // The PX expiry and `until` can disagree by clock skew between nodes; the stricter wins.
    if (revocation.until > now) return { ...revocation, target: { ...targets[index]! } };
  }
  return null;
}
