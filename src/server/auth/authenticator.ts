import type { IncomingMessage } from 'node:http';
import { parse as parseCookies } from 'cookie';
import { WsgateError } from '../../protocol/errors.js';
import type { Identity } from './identity.js';
import type { TicketService } from './ticket-service.js';
import type { TokenVerifier } from './token-verifier.js';

export interface AuthenticatorOptions {
  anonymous: boolean;
  cookieName: string;
}

/**
 * Establishes the identity of a handshake from the first credential present: ticket, bearer token, `?token=`,
 * session cookie — or anonymous where allowed. The order matters: an explicit credential beats an ambient cookie.
 */
export class Authenticator {
  constructor(
    private readonly tickets: TicketService,
    private readonly tokens: TokenVerifier,
    private readonly cookies: TokenVerifier,
    private readonly options: AuthenticatorOptions,
  ) {}

  async authenticate(req: IncomingMessage, query: URLSearchParams): Promise<Identity> {
    const ticket = query.get('ticket');
    if (ticket !== null) return this.tickets.redeem(ticket);

    const bearer = bearerToken(req.headers.authorization);
    const token = bearer ?? query.get('token');
    if (token !== null) {
      if (!this.tokens.enabled) throw new WsgateError('TOKEN_INVALID', 'token authentication is not configured');
      return this.tokens.verify(token, 'jwt');
    }

    const cookie = this.sessionCookie(req);
    if (cookie !== undefined && this.cookies.enabled) return this.cookies.verify(cookie, 'cookie');

    if (this.options.anonymous) return { user: null, claims: {}, method: 'anonymous' };
    throw new WsgateError('AUTH_REQUIRED');
  }

  /** The session cookie's identity, for `POST /auth/ticket`. */
  async fromCookie(req: IncomingMessage): Promise<Identity> {
    const cookie = this.sessionCookie(req);
    if (cookie === undefined || !this.cookies.enabled) throw new WsgateError('AUTH_REQUIRED', 'no session cookie');
    return this.cookies.verify(cookie, 'cookie');
  }

  private sessionCookie(req: IncomingMessage): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    return parseCookies(header)[this.options.cookieName] || undefined;
  }
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1]! : null;
}
