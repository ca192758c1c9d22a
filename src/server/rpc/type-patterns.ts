import { LRUCache } from 'lru-cache';

/**
 * Entries keyed by action-type patterns (`*` matches any characters: `order.*`, `CHAT_*`); the first matching entry in
 * order wins. Lookups are cached, with the cache bounded because types come from clients.
 */
export class TypePatterns<T extends { match: string }> {
  private readonly compiled: Array<{ entry: T; pattern: RegExp }>;
  /** Type → index of its entry in `compiled`, or -1 for none. */
  private readonly cache = new LRUCache<string, number>({ max: 10_000 });

  constructor(entries: readonly T[]) {
    this.compiled = entries.map((entry) => ({
      entry,
      pattern: new RegExp(`^${entry.match.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`),
    }));
  }

  lookup(type: string): T | null {
    let index = this.cache.get(type);
    if (index === undefined) {
      index = this.compiled.findIndex((candidate) => candidate.pattern.test(type));
      this.cache.set(type, index);
    }
    return index < 0 ? null : this.compiled[index]!.entry;
  }

  get size(): number {
    return this.compiled.length;
  }
}
