import { createHash, timingSafeEqual } from 'node:crypto';
import { WsgateError } from '../../protocol/errors.js';
import { bearerToken } from '../auth/authenticator.js';

/** Checks `Authorization: Bearer <key>` against the configured keys in constant time. */
export class ApiKeyCheck {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  assert(authorization: string | undefined): void {
    const key = bearerToken(authorization);
    if (key === null) throw new WsgateError('UNAUTHORIZED');
    const candidate = digest(key);
    // Compare against every key so the time taken does not tell which one (or whether any) matched.
    let matched = false;
    for (const known of this.digests) matched = timingSafeEqual(known, candidate) || matched;
    if (!matched) throw new WsgateError('UNAUTHORIZED');
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
