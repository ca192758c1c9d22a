import { systemClock, type Clock } from '../../time/clock.js';
import type { FoundRevocation, Revocation, RevocationStore, RevocationTarget } from './revocations.js';

/**
 * Revocations in process memory, shared by the nodes of one MemoryCluster. Bounded by `maxEntries`: when full, lapsed
 * revocations go first, then the one that lapses soonest. `until` is read against `clock`.
 */
export class MemoryRevocationStore implements RevocationStore {
  private readonly entries = new Map<string, Revocation>();

  private readonly maxEntries: number;
  private readonly now: Clock;

  constructor({ maxEntries = 100_000, clock = systemClock }: { maxEntries?: number; clock?: Clock } = {}) {
    this.maxEntries = maxEntries;
    this.now = clock;
  }

  async revoke(target: RevocationTarget, revocation: Revocation): Promise<void> {
    const key = keyOf(target);
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(key, { ...revocation });
  }

  async find(targets: readonly RevocationTarget[]): Promise<FoundRevocation | null> {
    for (const target of targets) {
      const revocation = this.live(keyOf(target));
      if (revocation) return { ...revocation, target: { ...target } };
    }
    return null;
  }

  async lift(target: RevocationTarget): Promise<boolean> {
    const key = keyOf(target);
    const existed = this.live(key) !== undefined;
    this.entries.delete(key);
    return existed;
  }

  private live(key: string): Revocation | undefined {
    const revocation = this.entries.get(key);
    if (revocation && revocation.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return revocation;
  }

  private evict(): void {
    const now = this.now();
    let soonest: [string, number] | undefined;
    for (const [key, revocation] of this.entries) {
      if (revocation.until <= now) this.entries.delete(key);
      else if (!soonest || revocation.until < soonest[1]) soonest = [key, revocation.until];
    }
    if (this.entries.size >= this.maxEntries && soonest) this.entries.delete(soonest[0]);
  }
}

function keyOf(target: RevocationTarget): string {
  return `${target.kind}\n${target.id}`;
}
