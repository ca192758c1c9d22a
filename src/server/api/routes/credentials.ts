import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { CloseCode } from '../../../protocol/close-codes.js';
import { WsgateError } from '../../../protocol/errors.js';
import { isValidUserId } from '../../../protocol/names.js';
import type { RevocationTarget } from '../../engine/revocations/revocations.js';
import type { SessionRecord } from '../../engine/registry/registry.js';
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

  /** Moves the deadline of sessions wherever they live; returns how many were told. */
  const setExpiry = async (records: SessionRecord[], ttlSeconds: number | null): Promise<number> => {
    const ttlMs = ttlSeconds === null ? null : ttlSeconds * 1000;
    await context.delivery.forSessions(records, (sessions) => ({ kind: 'expiry', sessions, ttlMs }), (sessions) => {
      for (const id of sessions) {
        const session = context.hub.sessions.get(id);
        if (session) context.lifecycle.setExpiry(session, ttlMs);
      }
    });
    return records.length;
  };

  api.post<{ Params: Static<typeof SessionParams>; Body: Static<typeof ExpiryBody> }>(
    '/sessions/:session/refresh', { schema: { params: SessionParams, body: ExpiryBody } },
    async (request) => {
      const record = await context.engine.registry.getSession(request.params.session);
      if (!record) throw new WsgateError('SESSION_NOT_FOUND');
      return { sessions: await setExpiry([record], request.body.ttlSeconds) };
    },
  );

  api.post<{ Params: Static<typeof UserParams>; Body: Static<typeof ExpiryBody> }>(
    '/users/:user/refresh', { schema: { params: UserParams, body: ExpiryBody } },
    async (request) => {
      const records = await context.engine.registry.getUserSessions(userParam(request.params.user));
      return { sessions: await setExpiry(records, request.body.ttlSeconds) };
    },
  );

  const revoke = async (target: RevocationTarget, body: Static<typeof RevokeBody>) => {
    const now = Date.now();
    const until = body.until === undefined ? now + context.config.auth.revocation.defaultSeconds * 1000 : Date.parse(body.until);
    if (Number.isNaN(until)) throw new WsgateError('BODY_INVALID', 'body/until is not an ISO 8601 date-time');
    if (until <= now) throw new WsgateError('BODY_INVALID', 'body/until must be in the future');
    const reason = body.reason ?? 'revoked by the server';
    // Stored first: a session the disconnect misses, or a reconnect, meets the revocation at its next check.
    await context.engine.revocations.revoke(target, { until, reason, revokedAt: now });
    return { until, reason };
  };

  api.post<{ Params: Static<typeof UserParams>; Body: Static<typeof RevokeBody> }>(
    '/users/:user/revoke', { schema: { params: UserParams, body: RevokeBody }, preValidation: optionalBody },
    async (request) => {
      const user = userParam(request.params.user);
      const { until, reason } = await revoke({ kind: 'user', id: user }, request.body);
      const records = await context.engine.registry.getUserSessions(user);
      await context.delivery.disconnectSessions(records, { code: CloseCode.UNAUTHORIZED, reason });
      return { user, until: new Date(until).toISOString(), sessions: records.length };
    },
  );

  api.post<{ Params: Static<typeof TokenParams>; Body: Static<typeof RevokeBody> }>(
    '/tokens/:jti/revoke', { schema: { params: TokenParams, body: RevokeBody }, preValidation: optionalBody },
    async (request) => {
      const tokenId = request.params.jti;
      const { until, reason } = await revoke({ kind: 'token', id: tokenId }, request.body);
      // No index maps token ids to sessions: every live node looks at its own.
      const remote = (await context.engine.registry.liveNodes()).map((node) => node.node).filter((node) => node !== context.nodeId);
      await context.delivery.sendToNodes(remote, { kind: 'revoke-token', tokenId, reason });
      context.lifecycle.revokeToken(tokenId, reason);
      return { jti: tokenId, until: new Date(until).toISOString(), nodes: remote.length + 1 };
    },
  );

  api.post<{ Body: Static<typeof LiftBody> }>('/revocations/remove', { schema: { body: LiftBody } }, async (request) => {
    const target: RevocationTarget = 'user' in request.body ? { kind: 'user', id: request.body.user } : { kind: 'token', id: request.body.jti };
    return { removed: await context.engine.revocations.lift(target) };
  });
}
