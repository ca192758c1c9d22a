/**
 * TicketStore: one-time tickets that open a WebSocket. Any node can redeem a ticket minted on any other.
 *
 * Guarantee: `take` is atomic — when several handshakes redeem the same ticket concurrently, exactly one gets the
 * grant. Stores key tickets by a hash, so a dump of the store holds no usable ticket.
 */
export interface TicketStore {
  put(ticketHash: string, grant: TicketGrant, ttlMs: number): Promise<void>;
  /** Returns the grant and deletes it, or null when unknown, expired or already taken. */
  take(ticketHash: string): Promise<TicketGrant | null>;
  close(): Promise<void>;
}

export interface TicketGrant {
  user: string | null;
  claims: Record<string, unknown>;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Lifetime of the session the ticket opens; absent: the session does not expire. */
  sessionTtlSeconds?: number;
}
