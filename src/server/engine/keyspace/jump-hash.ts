import { createHash } from 'node:crypto';

const MASK64 = (1n << 64n) - 1n;
const LCG_MULTIPLIER = 2862933555777941757n;

/** A stable 64-bit hash of a routing key (the first 8 bytes of its SHA-1), the same on every node and Node version. */
export function hash64(routingKey: string): bigint {
  return createHash('sha1').update(routingKey, 'utf8').digest().readBigUInt64BE(0);
}

/**
 * Jump consistent hash (Lamping & Veach, 2014): maps `key` to a bucket in `[0, buckets)`. Growing from n to n+1 buckets
 * moves only about 1/(n+1) of the keys, and every node computes the same bucket without coordination.
 */
export function jumpConsistentHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  let bucket = -1;
  let next = 0;
  while (next < buckets) {
    bucket = next;
    key = (key * LCG_MULTIPLIER + 1n) & MASK64;
    next = Math.floor((bucket + 1) * (2 ** 31 / Number((key >> 33n) + 1n)));
  }
  return bucket;
}

/** The shard of `routingKey` among `shards` instances. */
export function shardOf(routingKey: string, shards: number): number {
  // One instance is the common case; skip hashing entirely.
  return shards === 1 ? 0 : jumpConsistentHash(hash64(routingKey), shards);
}
