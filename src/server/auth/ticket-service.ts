import { hash } from 'node:crypto';
import { WsgateError } from '../../protocol/errors.js';
import { randomBase64url } from '../random/random-token.js';
import type { TicketStore } from '../engine/tickets/tickets.js';
import { claimsOrNone, type Identity } from './identity.js';

export interface MintedTicket {
  ticket: string;
  expiresAt: Date;
}

export interface TicketLimits {
  ttlSeconds: number;
  maxTtlSeconds: number;
  /** Lifetime of the session a ticket opens when the mint names none; 0 = the session does not expire. */
  sessionTtlSeconds: number;
}

export interface MintOptions {
  /** How long the ticket can be redeemed (capped by `maxTtlSeconds`). */
  ttlSeconds?: number;
  /** How long the session it opens lives before it must refresh; 0 = it does not expire. */
  sessionTtlSeconds?: number;
}

/**
 * Mints and redeems one-time tickets. A ticket is 256 random bits; the store only ever sees its SHA-256, so neither a
 * store dump nor a log of store keys yields a usable ticket.
 */
export class TicketService {
  constructor(private readonly store: TicketStore, private readonly limits: TicketLimits) {}

  async mint(user: string | null, claims: Record<string, unknown>, options: MintOptions = {}): Promise<MintedTicket> {
    const ttl = Math.min(options.ttlSeconds ?? this.limits.ttlSeconds, this.limits.maxTtlSeconds);
    const sessionTtlSeconds = options.sessionTtlSeconds ?? this.limits.sessionTtlSeconds;
    const ticket = randomBase64url(32);
    const expiresAt = Date.now() + ttl * 1000;
    await this.store.put(hashTicket(ticket), { user, claims, expiresAt, ...(sessionTtlSeconds > 0 ? { sessionTtlSeconds } : {}) }, ttl * 1000);
    return { ticket, expiresAt: new Date(expiresAt) };
  }

  /** Takes the ticket (it cannot be used again) and returns the identity it grants, expiring when the grant says. */
  async redeem(ticket: string): Promise<Identity> {
    if (ticket.length < 16 || ticket.length > 128) throw new WsgateError('TICKET_INVALID');
    const grant = await this.store.take(hashTicket(ticket));
    if (!grant) throw new WsgateError('TICKET_INVALID');
    const identity: Identity = { user: grant.user, claims: claimsOrNone(grant.claims), method: 'ticket' };
    if (grant.sessionTtlSeconds) identity.expiresAt = Date.now() + grant.sessionTtlSeconds * 1000;
    return identity;
  }
}

function hashTicket(ticket: string): string {
  return hash('sha256', ticket, 'base64url');
}
