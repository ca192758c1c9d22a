/** Backoff of webhook retries: exponential, with full jitter, for a bounded period after an event's emission. */
export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  periodMs: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): a random time between 0 and
 * min(maxDelayMs, initialDelayMs * 2^attempt) — full jitter, so endpoints that come back are not hit by every node
 * at the same instant.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
