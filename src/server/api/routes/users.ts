import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { serverDisconnect, type Disconnect } from '../../../protocol/close-codes.js';
import { WsgateError } from '../../../protocol/errors.js';
import type { GatewayContext } from '../context.js';
import { allOf, routeChecks } from '../route-check.js';
import { ActionBody, DisconnectBody, SessionParams, UserParams } from '../schemas.js';
import { encodeActionFrame } from '../../codec/node-frames.js';

/** Pushing to users and sessions wherever they are connected, disconnecting them, and looking them up. */
export function registerUserRoutes(api: FastifyInstance, context: GatewayContext): void {
  const { userInPath, actionType } = routeChecks(context.rules);
  api.post<{ Params: Static<typeof UserParams>; Body: Static<typeof ActionBody> }>(
    '/users/:user/send', { schema: { params: UserParams, body: ActionBody }, config: { check: allOf(userInPath, actionType) } },
    async (request) => {
      const user = request.params.user;
      const frame = encodeActionFrame(request.body.type, request.body.payload);
      return { sessions: await context.commands.sendToUser(user, frame) };
    },
  );

  api.post<{ Params: Static<typeof SessionParams>; Body: Static<typeof ActionBody> }>(
    '/sessions/:session/send', { schema: { params: SessionParams, body: ActionBody }, config: { check: actionType } },
    async (request) => {
      const frame = encodeActionFrame(request.body.type, request.body.payload);
      await context.commands.sendToSession(request.params.session, frame);
      return { sessions: 1 };
    },
  );

  api.post<{ Params: Static<typeof UserParams>; Body: Static<typeof DisconnectBody> }>(
    '/users/:user/disconnect', { schema: { params: UserParams, body: DisconnectBody }, preValidation: optionalBody, config: { check: userInPath } },
    async (request) => {
      return { sessions: await context.commands.disconnect({ user: request.params.user }, disconnectOrder(request.body)) };
    },
  );

  api.post<{ Params: Static<typeof SessionParams>; Body: Static<typeof DisconnectBody> }>(
    '/sessions/:session/disconnect', { schema: { params: SessionParams, body: DisconnectBody }, preValidation: optionalBody },
    async (request) => {
      return { sessions: await context.commands.disconnect({ session: request.params.session }, disconnectOrder(request.body)) };
    },
  );

  api.get<{ Params: Static<typeof UserParams> }>('/users/:user', { schema: { params: UserParams }, config: { check: userInPath } }, async (request) => {
    const user = request.params.user;
    const records = await context.commands.userSessions(user);
    return {
      user,
      online: records.length > 0,
      sessions: records.map((record) => ({
        session: record.session,
        node: record.node,
        connectedAt: new Date(record.connectedAt).toISOString(),
        client: { ip: record.client.ip ?? null, userAgent: record.client.userAgent ?? null, origin: record.client.origin ?? null },
      })),
    };
  });
}

/** Every field of a disconnect (or a revocation) is optional, so is the body. */
export async function optionalBody(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}

/** 4000 lets the client come back (the default); `reconnect: false` closes with 4500, which clients must not retry. */
function disconnectOrder(body: Static<typeof DisconnectBody> | undefined): Disconnect {
  return serverDisconnect(body?.reconnect ?? true, body?.reason ?? 'disconnected by the server');
}
