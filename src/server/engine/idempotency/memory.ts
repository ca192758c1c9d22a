import type { IdempotencyStore, IdempotentResult } from './idempotency.js';

interface Entry {
  fingerprint: string;
  expiresAt: number;
  answer: Promise<unknown>;
}

/**
 * Idempotency keys in process memory: a TTL cache bounded by `maxEntries` (the oldest entries go first when it is
 * full). Entries usually share one TTL, so the sweep looks only at the front; a lookup checks its entry's own expiry.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 100_000, private readonly now: () => number = Date.now) {}

  async once<T>(key: string, fingerprint: string, ttlMs: number, produce: () => Promise<T>): Promise<IdempotentResult<T>> {
    const now = this.now();
    this.sweep(now);
    let existing = this.entries.get(key);
    // The sweep stops at the first live entry, so an expired one can sit behind it: check this one's own expiry.
    if (existing && existing.expiresAt <= now) {
      this.entries.delete(key);
      existing = undefined;
    }
    if (existing) {
      if (existing.fingerprint !== fingerprint) return { kind: 'conflict' };
      return { kind: 'answer', value: (await existing.answer) as T, replayed: true };
    }
    const answer = produce();
    const entry: Entry = { fingerprint, expiresAt: now + ttlMs, answer };
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    try {
      return { kind: 'answer', value: await answer, replayed: false };
    } catch (error) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw error;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
  }
}
