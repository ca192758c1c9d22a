/**
 * Remembers the answers of requests that carried an `Idempotency-Key`, so a backend that retries (after a timeout, a
 * dropped connection) gets the first answer back instead of doing the work twice.
 *
 * Guarantee: within `ttlMs`, `once` runs `produce` at most once per key across every caller that shares the store —
 * concurrent callers with the same key wait for the first one. A `produce` that fails is forgotten, so a retry runs it
 * again. The memory engine holds this within its process; the Redis engines across the cluster, so a retry that a
 * load balancer sends to another node still counts once.
 */
export interface IdempotencyStore {
  once<T>(key: string, fingerprint: string, ttlMs: number, produce: () => Promise<T>): Promise<IdempotentResult<T>>;
}

export type IdempotentResult<T> =
  /** `replayed` is true when the answer comes from an earlier request with the same key. */
  | { kind: 'answer'; value: T; replayed: boolean }
  /** The key was used before with a different request (its fingerprint differs). */
  | { kind: 'conflict' };
