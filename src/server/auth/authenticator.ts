/**
 * Folder auth/: who a connection is — tickets, signed cookies, JWTs (HMAC, JWKS file or URL), the connect hook,
 * subscription tokens, revocation checks and the Origin policy — resolved to an `Identity`. It may import protocol/,
 * engine contracts (tickets, revocations) and observability; it knows nothing of sessions or channels.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseCookies } from 'cookie';
import { WsgateError } from '../../protocol/errors.js';
import type { ConnectHook, HookAdmission } from './connect-hook.js';
import { NO_CLAIMS, type Identity } from './identity.js';
import type { RevocationGuard } from './revocation-guard.js';
import type { TicketService } from './ticket-service.js';
import type { TokenVerifier } from './token-verifier.js';

export interface AuthenticatorOptions {
  anonymous: boolean;
  cookieName: string;
}

/**
 * Establishes the identity of a handshake from the first credential present: ticket, bearer token, `?token=`, then
 * the connect hook where one is configured, else the session cookie or anonymous where allowed. The order matters: an
 * explicit credential beats an ambient cookie. Revoked users and token ids are refused (CREDENTIAL_REVOKED).
 */
export class Authenticator {
  constructor(
    private readonly tickets: TicketService,
    private readonly tokens: TokenVerifier,
    private readonly cookies: TokenVerifier,
    private readonly revocations: RevocationGuard,
    private readonly options: AuthenticatorOptions,
    private readonly hook?: ConnectHook,
  ) {}

  /** True when the connect hook decides this handshake: it is configured and the handshake names no ticket or token. */
  usesConnectHook(req: IncomingMessage, query: URLSearchParams): boolean {
    return this.hook !== undefined && query.get('ticket') === null && query.get('token') === null && bearerToken(req.headers.authorization) === null;
  }

  async authenticate(req: IncomingMessage, query: URLSearchParams): Promise<Identity> {
    const identity = await this.identify(req, query);
    await this.revocations.assertAllowed(identity);
    return identity;
  }

  /** Asks the connect hook (see `usesConnectHook`); throws CONNECT_REFUSED, CONNECT_BACKEND_UNAVAILABLE, CREDENTIAL_REVOKED. */
  async admitThroughHook(req: IncomingMessage, ip: string): Promise<HookAdmission> {
    if (!this.hook) throw new WsgateError('INTERNAL', 'no connect hook is configured');
    const admission = await this.hook.admit(req, ip);
    await this.revocations.assertAllowed(admission.identity);
    return admission;
  }

  /**
   * The identity a `refresh` brings for a session of `user`: a JWT (three dot-separated parts) or a one-time ticket.
   * Throws TOKEN_INVALID when it is for another user (the session stays as it was), TICKET_INVALID for a used or
   * unknown ticket, TOKEN_EXPIRED, KEYS_UNAVAILABLE or CREDENTIAL_REVOKED.
   */
  async renew(user: string | null, credential: string): Promise<Identity> {
    const identity = credential.split('.').length === 3 ? await this.tokens.verify(credential, 'jwt') : await this.tickets.redeem(credential);
    if (identity.user !== user) throw new WsgateError('TOKEN_INVALID', 'the new credential is for another user');
    await this.revocations.assertAllowed(identity);
    return identity;
  }

  private async identify(req: IncomingMessage, query: URLSearchParams): Promise<Identity> {
    const ticket = query.get('ticket');
    if (ticket !== null) return this.tickets.redeem(ticket);

    const bearer = bearerToken(req.headers.authorization);
    const token = bearer ?? query.get('token');
    if (token !== null) return this.tokens.verify(token, 'jwt');

    const cookie = this.sessionCookie(req);
    if (cookie !== undefined && this.cookies.enabled) return this.cookies.verify(cookie, 'cookie');

    if (this.options.anonymous) return { user: null, claims: NO_CLAIMS, method: 'anonymous' };
    throw new WsgateError('AUTH_REQUIRED');
  }

  /** The session cookie's identity, for `POST /auth/ticket`. */
  async fromCookie(req: IncomingMessage): Promise<Identity> {
    const cookie = this.sessionCookie(req);
    if (cookie === undefined || !this.cookies.enabled) throw new WsgateError('AUTH_REQUIRED', 'no session cookie');
    const identity = await this.cookies.verify(cookie, 'cookie');
    await this.revocations.assertAllowed(identity);
    return identity;
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
