import { systemClock, type Clock } from '../../time/clock.js';
import type { RateAllowance, RateLimitStore, RateSubject } from './rate-limits.js';

/**
 * Rate buckets in process memory (the reference GCRA). Bounded by `maxBuckets`: a bucket whose arrival time has
 * passed is full again, so forgetting it changes nothing; those go first when the table is full.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  /** Bucket key -> theoretical arrival time of the next call (ms). */
  private readonly arrivals = new Map<string, number>();

  private readonly maxBuckets: number;
  private readonly now: Clock;

  constructor({ maxBuckets = 100_000, clock = systemClock }: { maxBuckets?: number; clock?: Clock } = {}) {
    this.maxBuckets = maxBuckets;
    this.now = clock;
  }

  async take(subject: RateSubject, bucket: string, { rate, burst }: RateAllowance): Promise<number> {
    const now = this.now();
    const key = `${subject.kind}\n${subject.id}\n${bucket}`;
    const interval = 1000 / rate;
    const arrival = Math.max(this.arrivals.get(key) ?? now, now);
    const allowedAt = arrival + interval - burst * interval;
    if (now < allowedAt) return (allowedAt - now) / 1000;
    if (!this.arrivals.has(key) && this.arrivals.size >= this.maxBuckets) this.evict(now);
    this.arrivals.set(key, arrival + interval);
    return 0;
  }

  private evict(now: number): void {
    for (const [key, arrival] of this.arrivals) if (arrival <= now) this.arrivals.delete(key);
    if (this.arrivals.size >= this.maxBuckets) this.arrivals.delete(this.arrivals.keys().next().value!);
  }
}
