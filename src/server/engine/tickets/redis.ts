import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { TicketGrant, TicketStore } from './tickets.js';

/**
 * Tickets in Redis: `{t:<hash>}:ticket` holds the grant with a PX expiry; `take` is GETDEL, one atomic command, so
 * exactly one of several concurrent redemptions gets the grant. Only the hash is ever a key.
 */
export class RedisTicketStore implements TicketStore {
  constructor(private readonly keyspace: RedisKeyspace) {}

  private key(ticketHash: string) {
    return this.keyspace.key(RoutingTag.ticket(ticketHash), 'ticket');
  }

  async put(ticketHash: string, grant: TicketGrant, ttlMs: number): Promise<void> {
    await this.keyspace.client(RoutingTag.ticket(ticketHash)).set(this.key(ticketHash), JSON.stringify(grant), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async take(ticketHash: string): Promise<TicketGrant | null> {
    const json = await this.keyspace.client(RoutingTag.ticket(ticketHash)).getdel(this.key(ticketHash));
    if (!json) return null;
    const grant = JSON.parse(json) as TicketGrant;
    // The PX expiry and `expiresAt` can disagree (clock skew, a longer ttl); the stricter wins.
    return grant.expiresAt > Date.now() ? grant : null;
  }

  async close(): Promise<void> {}
}
