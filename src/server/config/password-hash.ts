/** The admin password hash format (`admin.passwordHash`), read where the config is checked and where logins are. */

export interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Reads a `scrypt$...` hash; null when it is not one (the config check names the key). */
export function parseAdminHash(text: string): ParsedHash | null {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  const valid = [N, r, p].every((value) => Number.isInteger(value) && value > 0) && (N & (N - 1)) === 0 && N <= 2 ** 20 && r <= 32 && p <= 16;
  return valid && salt.length >= 8 && hash.length >= 16 ? { N, r, p, salt, hash } : null;
}
