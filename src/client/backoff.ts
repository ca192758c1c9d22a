/** Reconnect delay policy: exponential growth, capped, with full jitter. */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. Default 500. */
  minDelay: number;
  /** Largest ceiling, in ms. Default 20 000. */
  maxDelay: number;
  /** Growth of the ceiling per attempt. Default 2. */
  factor: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ minDelay: 500, maxDelay: 20_000, factor: 2 });

/** Fills defaults and checks the values once, so a bad option fails at construction rather than on the first close. */
export function resolveBackoff(options: Partial<BackoffOptions> = {}): Readonly<BackoffOptions> {
  const resolved = { ...DEFAULT_BACKOFF, ...options };
  const { minDelay, maxDelay, factor } = resolved;
  if (!(Number.isFinite(minDelay) && minDelay >= 0)) throw new RangeError(`backoff.minDelay must be >= 0, got ${minDelay}`);
  if (!(Number.isFinite(maxDelay) && maxDelay >= minDelay))
    throw new RangeError(`backoff.maxDelay must be >= minDelay, got ${maxDelay}`);
  if (!(Number.isFinite(factor) && factor >= 1)) throw new RangeError(`backoff.factor must be >= 1, got ${factor}`);
  return Object.freeze(resolved);
}

/** The upper bound of the delay for `attempt` (0 for the first retry): `min(maxDelay, minDelay * factor^attempt)`. */
export function backoffCeiling(attempt: number, options: Readonly<BackoffOptions>): number {
  if (options.minDelay === 0) return 0; // avoids 0 * Infinity = NaN for huge attempts
  return Math.min(options.maxDelay, options.minDelay * options.factor ** Math.max(0, attempt));
}

/**
 * Full jitter: a uniformly random delay in `[0, ceiling]`, rounded to whole ms. Spreading clients over the whole window
 * (instead of around the ceiling) is what keeps a fleet that lost the same node from reconnecting in lockstep.
 */
export function backoffDelay(
  attempt: number,
  options: Readonly<BackoffOptions>,
  random: () => number = Math.random,
): number {
  return Math.round(random() * backoffCeiling(attempt, options));
}
