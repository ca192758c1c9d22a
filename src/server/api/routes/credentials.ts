import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { WsgateError } from '../../../protocol/errors.js';
import { isValidUserId } from '../../../protocol/names.js';
import type { RevocationTarget } from '../../engine/revocations/revocations.js';
import type { GatewayContext } from '../context.js';
import { SessionParams, UserId, UserParams } from '../schemas.js';
import { optionalBody } from './users.js';

const TokenId = Type.String({ minLength: 1, maxLength: 256 });

const ExpiryBody = Type.Object(
  {
    /** The session must refresh within this many seconds (0: closed with 4004 now); null: it no longer expires. */
    ttlSeconds: Type.Union([Type.Integer({ minimum: 0, maximum: 366 * 86_400 }), Type.Null()]),
  },
  { additionalProperties: false },
);

const RevokeBody = Type.Object(
  {
    /** ISO 8601 date-time in the future; default: `auth.revocation.defaultSeconds` from now. */
    until: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
  },
  { additionalProperties: false },
);

const LiftBody = Type.Union([
  Type.Object({ user: UserId }, { additionalProperties: false }),
  Type.Object({ jti: TokenId }, { additionalProperties: false }),
]);

const TokenParams = Type.Object({ jti: TokenId });

/** Session lifetimes (extend or cut), and revocation of users and token ids across the cluster. */
export function registerCredentialRoutes(api: FastifyInstance, context: GatewayContext): void {
  const userParam = (user: string): string => {
    if (!isValidUserId(user)) throw new WsgateError('USER_INVALID');
    return user;
  };

  api.post<{ Params: Static<typeof SessionParams>; Body: Static<typeof ExpiryBody> }>(
    '/sessions/:session/refresh', { schema: { params: SessionParams, body: ExpiryBody } },
    async (request) => {
      return { sessions: await context.commands.setExpiry({ session: request.params.session }, request.body.ttlSeconds) };
    },
  );

  api.post<{ Params: Static<typeof UserParams>; Body: Static<typeof ExpiryBody> }>(
    '/users/:user/refresh', { schema: { params: UserParams, body: ExpiryBody } },
    async (request) => {
      return { sessions: await context.commands.setExpiry({ user: userParam(request.params.user) }, request.body.ttlSeconds) };
    },
  );

  api.post<{ Params: Static<typeof UserParams>; Body: Static<typeof RevokeBody> }>(
    '/users/:user/revoke', { schema: { params: UserParams, body: RevokeBody }, preValidation: optionalBody },
    async (request) => {
      const user = userParam(request.params.user);
      const { until, sessions } = await context.commands.revokeUser(user, request.body);
      return { user, until: new Date(until).toISOString(), sessions };
    },
  );

  api.post<{ Params: Static<typeof TokenParams>; Body: Static<typeof RevokeBody> }>(
    '/tokens/:jti/revoke', { schema: { params: TokenParams, body: RevokeBody }, preValidation: optionalBody },
    async (request) => {
      const tokenId = request.params.jti;
      const { until, nodes } = await context.commands.revokeToken(tokenId, request.body);
      return { jti: tokenId, until: new Date(until).toISOString(), nodes };
    },
  );

  api.post<{ Body: Static<typeof LiftBody> }>('/revocations/remove', { schema: { body: LiftBody } }, async (request) => {
    const target: RevocationTarget = 'user' in request.body ? { kind: 'user', id: request.body.user } : { kind: 'token', id: request.body.jti };
    return { removed: await context.commands.liftRevocation(target) };
  });
}
