/** Whose allowance a bucket meters: a user (all their sessions, on every node) or a server API key. */
export type RateSubject = { kind: 'user'; id: string } | { kind: 'apiKey'; id: string };

/** `rate` calls per second, `burst` at once. */
export interface RateAllowance {
  rate: number;
  burst: number;
}

/**
 * Rate buckets shared by every node (GCRA: a bucket is the theoretical arrival time of the next call).
 *
 * Guarantee: `take` is atomic per subject across every caller that shares the store — however many sessions and nodes
 * take from one subject's bucket at once, at most `burst` calls pass at an instant and `rate` per second after that.
 * The memory engine holds this within its process; the Redis engines across the cluster (one script on the subject's
 * shard or slot, timed by that Redis's clock, so the nodes' clocks do not matter).
 */
export interface RateLimitStore {
  /** Takes one call from the subject's bucket named `bucket`: 0 when allowed, else the seconds until one would be. */
  take(subject: RateSubject, bucket: string, allowance: RateAllowance): Promise<number>;
}
