import { TokenBucket } from './token-bucket.js';

/** Handshakes per client IP (token bucket each). Bounded: idle buckets are dropped when the table fills. */
export class ConnectRateLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; usedAt: number }>();

  constructor(private readonly rate: number, private readonly burst: number, private readonly maxAddresses = 100_000) {}

  allow(ip: string): boolean {
    const now = Date.now();
    let entry = this.buckets.get(ip);
    if (!entry) {
      if (this.buckets.size >= this.maxAddresses) this.evictIdle(now);
      entry = { bucket: new TokenBucket(this.rate, this.burst, now), usedAt: now };
      this.buckets.set(ip, entry);
    }
    entry.usedAt = now;
    return entry.bucket.take(now) === 0;
  }

  private evictIdle(now: number): void {
    // A bucket idle for burst/rate seconds is full again: forgetting it changes nothing.
    const idleMs = (this.burst / this.rate) * 1000;
    for (const [ip, entry] of this.buckets) if (now - entry.usedAt > idleMs) this.buckets.delete(ip);
    if (this.buckets.size >= this.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
