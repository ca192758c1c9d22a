import { systemClock, type Clock } from '../time/clock.js';

/** How long a key's counter outlives its last member (the Redis engine keeps its counters as long). */
export const TRANSITION_MEMORY_MS = 24 * 60 * 60 * 1000;

/**
 * Numbers the transitions of keys (a user online/offline, a channel occupied/vacated) in memory, as the Redis engine
 * numbers them with a counter per key: each transition is one more than the last, and a key that stayed empty for
 * `forgetAfterMs` starts over. Forgetting is done on the way, oldest first, so the map does not grow with every key
 * ever seen.
 */
export class TransitionCounter {
  private readonly counters = new Map<string, { seq: number; forgetAt: number | null }>();
  private readonly forgetting: Array<{ key: string; at: number }> = [];
  private head = 0;

  private readonly forgetAfterMs: number;
  private readonly now: Clock;

  constructor({ forgetAfterMs = TRANSITION_MEMORY_MS, clock = systemClock }: { forgetAfterMs?: number; clock?: Clock } = {}) {
    this.forgetAfterMs = forgetAfterMs;
    this.now = clock;
  }

  /** The next transition of `key` while it has members (an online user, an occupied channel). */
  begin(key: string): { seq: number } {
    return { seq: this.next(key, null) };
  }

  /** The next transition of `key` now that it has none; its counter is forgotten after a while. */
  end(key: string): { seq: number } {
    const at = this.now() + this.forgetAfterMs;
    this.forgetting.push({ key, at });
    return { seq: this.next(key, at) };
  }

  private next(key: string, forgetAt: number | null): number {
    this.forget();
    const seq = (this.counters.get(key)?.seq ?? 0) + 1;
    this.counters.set(key, { seq, forgetAt });
    return seq;
  }

  private forget(): void {
    const now = this.now();
    while (this.head < this.forgetting.length && this.forgetting[this.head]!.at <= now) {
      const { key, at } = this.forgetting[this.head++]!;
      // Only when the key is still empty since that moment (not begun again since).
      if (this.counters.get(key)?.forgetAt === at) this.counters.delete(key);
    }
    if (this.head > 1024 && this.head * 2 > this.forgetting.length) {
      this.forgetting.splice(0, this.head);
      this.head = 0;
    }
  }
}
