import { createHash, timingSafeEqual } from 'node:crypto';
import { randomBase64url } from '../random/random-token.js';

/** A fresh secret for a streaming session's `POST /emulation` requests: 128 random bits, base64url. */
export function newEmulationSecret(): string {
  return randomBase64url(16);
}

/** What the registry keeps of a secret: its SHA-256, so a registry read reveals nothing a POST could use. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares in constant time, so the answer's timing tells nothing about how much of a guess was right. */
export function secretsEqual(expected: string, offered: string): boolean {
  return matchesDigest(secretDigest(expected), offered);
}

/** True when `offered` is the secret whose digest the registry holds. */
export function matchesDigest(digest: string, offered: string): boolean {
  const a = Buffer.from(digest, 'hex');
  const b = Buffer.from(secretDigest(offered), 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
