import type { TicketGrant, TicketStore } from './tickets.js';

export class MemoryTicketStore implements TicketStore {
  private readonly grants = new Map<string, TicketGrant>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly maxTickets = 100_000) {
    this.sweeper = setInterval(() => this.sweep(), 10_000).unref();
  }

  async put(ticketHash: string, grant: TicketGrant): Promise<void> {
    // Bounded: when full, expired tickets go first, then the oldest.
    if (this.grants.size >= this.maxTickets) {
      this.sweep();
      if (this.grants.size >= this.maxTickets) this.grants.delete(this.grants.keys().next().value!);
    }
    this.grants.set(ticketHash, grant);
  }

  async take(ticketHash: string): Promise<TicketGrant | null> {
    // Single-threaded: get and delete happen in one turn, so concurrent redemptions cannot both succeed.
    const grant = this.grants.get(ticketHash);
    if (!grant) return null;
    this.grants.delete(ticketHash);
    return grant.expiresAt > Date.now() ? grant : null;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [hash, grant] of this.grants) if (grant.expiresAt <= now) this.grants.delete(hash);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.grants.clear();
  }
}
