/**
 * Folder random/: random identifiers and secrets (session ids, tickets, call tokens) drawn from the system's CSPRNG.
 * Imports nothing.
 */
import { randomFillSync } from 'node:crypto';

/** Random bytes fetched from the CSPRNG at once: one call per 128 tickets instead of one per ticket. */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

/** Reserves the next `bytes` of the pool (refilled when short) and returns where they start; see `read`. */
function take(bytes: number): number {
  if (bytes > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} random bytes at a time`);
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const start = used;
  used += bytes;
  return start;
}

/**
 * `bytes` random bytes as base64url. The same CSPRNG output as `randomBytes(bytes)`, read in 4 KiB batches (as Node's
 * own `randomUUID` does); every byte is handed out once. A synchronous CSPRNG call per connect was a few percent of
 * its CPU.
 */
export function randomBase64url(bytes: number): string {
  return read(bytes, 'base64url');
}

/** `bytes` random bytes as hex; see `randomBase64url`. */
export function randomHex(bytes: number): string {
  return read(bytes, 'hex');
}

/** The bytes handed out are zeroed in the pool: a ticket is a credential, and the pool would otherwise keep it. */
function read(bytes: number, encoding: 'base64url' | 'hex'): string {
  const start = take(bytes);
  const text = pool.toString(encoding, start, start + bytes);
  pool.fill(0, start, start + bytes);
  return text;
}
