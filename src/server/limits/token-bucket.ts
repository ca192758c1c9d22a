/**
 * Folder limits/: the node's bounds that are not a store — token buckets, the connect-rate limiter, connections per
 * address, history bytes in flight. Plain bookkeeping; it imports only protocol/ (error codes) and time/.
 */
/** A token bucket: `rate` tokens per second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(private readonly rate: number, private readonly burst: number, now = Date.now()) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.rate;
  }
}
