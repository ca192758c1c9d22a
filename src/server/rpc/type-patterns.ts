/**
 * Entries keyed by action-type patterns (`*` matches any characters: `order.*`, `CHAT_*`); the first matching entry in
 * order wins. Lookups are cached, with the cache bounded because types come from clients.
 */
export class TypePatterns<T extends { match: string }> {
  private readonly compiled: Array<{ entry: T; pattern: RegExp }>;
  private readonly cache = new Map<string, T | null>();

  constructor(entries: readonly T[]) {
    this.compiled = entries.map((entry) => ({
      entry,
      pattern: new RegExp(`^${entry.match.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`),
    }));
  }

  lookup(type: string): T | null {
    let entry = this.cache.get(type);
    if (entry === undefined) {
      entry = this.compiled.find((candidate) => candidate.pattern.test(type))?.entry ?? null;
      if (this.cache.size < 10_000) this.cache.set(type, entry);
    }
    return entry;
  }

  get size(): number {
    return this.compiled.length;
  }
}
