import { hash, timingSafeEqual } from 'node:crypto';
import { WsgateError } from '../../protocol/errors.js';
import { bearerToken } from '../auth/authenticator.js';

/** Checks `Authorization: Bearer <key>` against the configured keys in constant time. */
export class ApiKeyCheck {
  private readonly digests: Buffer[];
  /** Each key's id, made once rather than per call. */
  private readonly ids: string[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
    this.ids = this.digests.map(idOf);
  }

  /** Returns the key's id (see `apiKeyId`); throws UNAUTHORIZED. */
  assert(authorization: string | undefined): string {
    const key = bearerToken(authorization);
    if (key === null) throw new WsgateError('UNAUTHORIZED');
    const candidate = digest(key);
    // Compare against every key so the time taken does not tell which one (or whether any) matched.
    let matched = -1;
    for (let i = 0; i < this.digests.length; i++) if (timingSafeEqual(this.digests[i]!, candidate)) matched = i;
    if (matched === -1) throw new WsgateError('UNAUTHORIZED');
    return this.ids[matched]!;
  }
}

/**
 * What logs, metrics and rate buckets name a key by: the first 12 hex digits of its SHA-256. It tells keys apart
 * (rotation: which backend still uses the old one) and reveals nothing usable of the key.
 */
export function apiKeyId(key: string): string {
  return idOf(digest(key));
}

function idOf(keyDigest: Buffer): string {
  return keyDigest.toString('hex').slice(0, 12);
}

function digest(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}
