import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../../time/clock.js';
import type { TicketGrant, TicketStore } from './tickets.js';

/**
 * Tickets in process memory, bounded by `maxTickets`: when full, expired tickets go first, then the least recently
 * minted. `clock` is what both the TTL and `grant.expiresAt` are read against.
 */
export class MemoryTicketStore implements TicketStore {
  private readonly grants: LRUCache<string, TicketGrant>;
  private readonly maxTickets: number;
  private readonly now: Clock;

  constructor({ maxTickets = 100_000, clock = systemClock }: { maxTickets?: number; clock?: Clock } = {}) {
    this.maxTickets = maxTickets;
    this.now = clock;
    this.grants = new LRUCache({ max: maxTickets, perf: { now: clock }, ttlResolution: 0 });
  }

  async put(ticketHash: string, grant: TicketGrant, ttlMs: number): Promise<void> {
    if (this.grants.size >= this.maxTickets) this.grants.purgeStale();
    this.grants.set(ticketHash, grant, { ttl: Math.max(1, ttlMs) });
  }

  async take(ticketHash: string): Promise<TicketGrant | null> {
    // Single-threaded: get and delete happen in one turn, so concurrent redemptions cannot both succeed.
    const grant = this.grants.get(ticketHash);
    if (!grant) return null;
    this.grants.delete(ticketHash);
    return grant.expiresAt > this.now() ? grant : null;
  }

  async close(): Promise<void> {
    this.grants.clear();
  }
}
