import { createHash, createHmac, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { parseAdminHash, type ParsedHash } from '../config/password-hash.js';
import type { Config } from '../config/schema.js';

function scrypt(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** scrypt cost of new hashes: N = 2^15, r = 8, p = 1 (32 MiB, a fraction of a second): slow to guess, quick to log in. */
const NEW_HASH = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

/** `scrypt$N$r$p$salt$hash` for `password`, salt and hash base64url. */
export async function hashAdminPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LENGTH, { ...NEW_HASH, maxmem: maxmem(NEW_HASH) });
  return ['scrypt', NEW_HASH.N, NEW_HASH.r, NEW_HASH.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

function maxmem({ N, r, p }: Pick<ParsedHash, 'N' | 'r' | 'p'>): number {
  return 128 * N * r * p + 128 * r * 8 + 32 * 1024 * 1024;
}

/**
 * Who may open the console: the holder of the password (checked against its scrypt hash) or of an admin key
 * (compared by digest in constant time). The subject names which, for the audit log; never the secret.
 */
export class AdminCredentials {
  private readonly hash: ParsedHash | null;
  private readonly keyDigests: Buffer[];
  /** Signs console sessions: derived from the credentials every node shares, so any node accepts any node's session. */
  readonly signingKey: Buffer;

  constructor(config: Readonly<Config['admin']>) {
    this.hash = config.passwordHash ? parseAdminHash(config.passwordHash) : null;
    this.keyDigests = config.secretKeys.map(digest);
    this.signingKey = createHmac('sha256', 'wsgate admin session').update(config.passwordHash).update('\0').update(config.secretKeys.join('\0')).digest();
  }

  get configured(): boolean {
    return this.hash !== null || this.keyDigests.length > 0;
  }

  /** The subject (`password`, or `key:<id>`) when the secret is right; null otherwise. */
  async check(attempt: { password?: string; key?: string }): Promise<string | null> {
    if (attempt.password !== undefined && this.hash) {
      const { N, r, p, salt, hash } = this.hash;
      const candidate = await scrypt(attempt.password, salt, hash.length, { N, r, p, maxmem: maxmem(this.hash) });
      if (timingSafeEqual(candidate, hash)) return 'password';
    }
    if (attempt.key !== undefined) {
      const candidate = digest(attempt.key);
      let matched: Buffer | null = null;
      for (const known of this.keyDigests) if (timingSafeEqual(known, candidate)) matched = known;
      if (matched) return `key:${matched.toString('hex').slice(0, 12)}`;
    }
    return null;
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
