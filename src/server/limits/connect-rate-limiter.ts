import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../time/clock.js';
import { TokenBucket } from './token-bucket.js';

/**
 * Handshakes per client IP (token bucket each). Bounded by `maxAddresses`: a bucket idle for burst/rate seconds is
 * full again, so it is forgotten, and when the table fills the least recently used address goes. Buckets fill, and
 * are forgotten, on `clock`.
 */
export class ConnectRateLimiter {
  private readonly buckets: LRUCache<string, TokenBucket>;
  private readonly now: Clock;

  constructor(private readonly rate: number, private readonly burst: number, { maxAddresses = 100_000, clock = systemClock }: { maxAddresses?: number; clock?: Clock } = {}) {
    this.now = clock;
    // Forgetting an idle bucket changes nothing: a new one starts full, as the old one would be by now.
    const idleMs = Math.max(1, Math.ceil((burst / rate) * 1000));
    this.buckets = new LRUCache({ max: maxAddresses, ttl: idleMs, updateAgeOnGet: true, perf: { now: clock }, ttlResolution: 0 });
  }

  allow(ip: string): boolean {
    const now = this.now();
    let bucket = this.buckets.get(ip);
    if (!bucket) {
      bucket = new TokenBucket(this.rate, this.burst, now);
      this.buckets.set(ip, bucket);
    }
    return bucket.take(now) === 0;
  }
}
