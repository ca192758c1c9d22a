import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../../time/clock.js';
import type { IdempotencyStore, IdempotentResult } from './idempotency.js';

interface Entry {
  fingerprint: string;
  answer: Promise<unknown>;
}

/**
 * Idempotency keys in process memory: a TTL cache bounded by `maxEntries` (the least recently used entries go first
 * when it is full). `clock` is what the TTL is read against.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries: LRUCache<string, Entry>;

  constructor({ maxEntries = 100_000, clock = systemClock }: { maxEntries?: number; clock?: Clock } = {}) {
    this.entries = new LRUCache({ max: maxEntries, perf: { now: clock }, ttlResolution: 0 });
  }

  async once<T>(key: string, fingerprint: string, ttlMs: number, produce: () => Promise<T>): Promise<IdempotentResult<T>> {
    const existing = this.entries.get(key);
    if (existing) {
      if (existing.fingerprint !== fingerprint) return { kind: 'conflict' };
      return { kind: 'answer', value: (await existing.answer) as T, replayed: true };
    }
    const answer = produce();
    const entry: Entry = { fingerprint, answer };
    this.entries.set(key, entry, { ttl: Math.max(1, ttlMs) });
    try {
      return { kind: 'answer', value: await answer, replayed: false };
    } catch (error) {
      if (this.entries.peek(key) === entry) this.entries.delete(key);
      throw error;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
