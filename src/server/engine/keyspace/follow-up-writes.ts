import { RetryTimer } from '../retry-timer.js';

/** Follow-up writes kept for a retry at most; beyond it the oldest is given up (its entry stays stale). */
const MAX_PENDING = 100_000;

/**
 * Index bookkeeping that follows a decision made on another shard (slot): a session's lookup keys after its user hash
 * decided the removal, a node's channel set after the channel's hash did. The decision is the call's answer — a user
 * offline, a channel vacated — and must reach the caller even when a follow-up write fails (with Redis Cluster the two
 * live on different masters and can fail apart). So a failed follow-up never fails the call: it is kept and retried on
 * its own with backoff. Until then the index holds a stale entry, which its readers skip because the deciding hash
 * no longer lists it.
 */
export class FollowUpWrites {
  private readonly pending = new Set<() => Promise<unknown>>();
  private readonly retries = new RetryTimer(() => this.retry());

  /** Runs `write`; when it fails, keeps it for a retry instead of throwing. */
  async run(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch {
      this.keep(write);
    }
  }

  /** Writes still waiting for a retry. */
  get size(): number {
    return this.pending.size;
  }

  private keep(write: () => Promise<unknown>): void {
    this.pending.add(write);
    if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.values().next().value!);
    this.retries.schedule();
  }

  private async retry(): Promise<void> {
    for (const write of [...this.pending]) {
      await write();
      this.pending.delete(write);
    }
  }
}
