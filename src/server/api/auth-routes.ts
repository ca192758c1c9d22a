import type { FastifyInstance } from 'fastify';
import { serialize as serializeCookie } from 'cookie';
import { Type, type Static } from '@sinclair/typebox';
import { WsgateError } from '../../protocol/errors.js';
import { signToken } from '../auth/token-verifier.js';
import { UserId } from './schemas.js';
import type { GatewayContext } from './context.js';

const DevLoginBody = Type.Object(
  {
    user: UserId,
    claims: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

/** Browser authentication: a session cookie (here minted by the dev login) is exchanged for one-time tickets. */
export function registerAuthRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { config } = context;

  app.post('/auth/ticket', async (request) => {
    // Browsers send Origin on POST; a foreign page must not mint tickets with the user's cookie.
    if (!context.origins.allows(request.headers.origin)) throw new WsgateError('ORIGIN_FORBIDDEN');
    const identity = await context.authenticator.fromCookie(request.raw);
    // The session lives no longer than the cookie it came from (nor than the configured session lifetime).
    const cookieLeft = Math.max(1, Math.ceil((identity.expiresAt! - Date.now()) / 1000));
    const configured = config.auth.tickets.sessionTtlSeconds;
    const minted = await context.tickets.mint(identity.user, identity.claims, { sessionTtlSeconds: configured > 0 ? Math.min(configured, cookieLeft) : cookieLeft });
    return { ticket: minted.ticket, expiresAt: minted.expiresAt.toISOString() };
  });

  app.post<{ Body: Static<typeof DevLoginBody> }>('/auth/dev-login', { schema: { body: DevLoginBody } }, async (request, reply) => {
    if (!config.auth.devLogin || config.auth.cookie.secrets.length === 0) throw new WsgateError('LOGIN_DISABLED');
    if (!context.origins.allows(request.headers.origin)) throw new WsgateError('ORIGIN_FORBIDDEN');
    const { user, claims = {} } = request.body;
    const token = await signToken(config.auth.cookie.secrets[0]!, user, claims, config.auth.cookie.maxAgeSeconds);
    void reply.header('set-cookie', sessionCookie(context, token, config.auth.cookie.maxAgeSeconds));
    return { user, claims };
  });

  app.post('/auth/logout', async (_request, reply) => {
    void reply.header('set-cookie', sessionCookie(context, '', 0));
    return { ok: true };
  });
}

function sessionCookie(context: GatewayContext, value: string, maxAge: number): string {
  const cookie = context.config.auth.cookie;
  return serializeCookie(cookie.name, value, { httpOnly: true, sameSite: 'lax', path: '/', maxAge, secure: cookie.secure });
}
