import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ApiKeyCheck } from './api-key.js';
import type { GatewayContext } from './context.js';
import { registerActionRoutes } from './routes/actions.js';
import { registerBatchRoute, RouteTable } from './routes/batch.js';
import { registerChannelRoutes } from './routes/channels.js';
import { registerCredentialRoutes } from './routes/credentials.js';
import { registerInfoRoutes } from './routes/info.js';
import { registerUserRoutes } from './routes/users.js';
import { UserId } from './schemas.js';

const TicketBody = Type.Object(
  {
    user: Type.Union([UserId, Type.Null()]),
    claims: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    /** The session the ticket opens must refresh within this long; 0 = it does not expire. Default: config. */
    sessionTtlSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** The server API for backends, under `/api`, behind an API key (several may be configured, so keys can rotate). */
export function registerServerApi(api: FastifyInstance, context: GatewayContext): void {
  const keys = new ApiKeyCheck(context.config.apiKeys);
  api.addHook('onRequest', async (request) => keys.assert(request.headers.authorization));
  const routes = new RouteTable();
  routes.install(api);

  api.post<{ Body: Static<typeof TicketBody> }>('/tickets', { schema: { body: TicketBody } }, async (request) => {
    const { user, claims = {}, ttlSeconds, sessionTtlSeconds } = request.body;
    const minted = await context.tickets.mint(user, claims, { ttlSeconds, sessionTtlSeconds });
    return { ticket: minted.ticket, expiresAt: minted.expiresAt.toISOString() };
  });
  registerChannelRoutes(api, context);
  registerUserRoutes(api, context);
  registerCredentialRoutes(api, context);
  registerInfoRoutes(api, context);
  registerActionRoutes(api, context);
  registerBatchRoute(api, routes);
}
