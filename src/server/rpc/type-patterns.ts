import { LRUCache } from 'lru-cache';
import { matchesWildcard } from '../../protocol/names.js';

/**
 * Entries keyed by action-type patterns (`*` matches any characters: `order.*`, `CHAT_*`); the first matching entry in
 * order wins. Lookups are cached, with the cache bounded because types come from clients.
 */
export class TypePatterns<T extends { match: string }> {
  private readonly entries: readonly T[];
  /** Type → index of its entry, or -1 for none. */
  private readonly cache = new LRUCache<string, number>({ max: 10_000 });

  constructor(entries: readonly T[]) {
    this.entries = [...entries];
  }

  lookup(type: string): T | null {
    let index = this.cache.get(type);
    if (index === undefined) {
      index = this.entries.findIndex((entry) => matchesWildcard(entry.match, type));
      this.cache.set(type, index);
    }
    return index < 0 ? null : this.entries[index]!;
  }

  get size(): number {
    return this.entries.length;
  }
}
