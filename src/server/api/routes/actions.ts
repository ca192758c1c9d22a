import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ACTION_TYPE_MATCH_PATTERN } from '../../../protocol/names.js';
import type { RegisteredRoute } from '../../engine/action-routes/action-routes.js';
import type { GatewayContext } from '../context.js';

const Match = Type.String({ pattern: ACTION_TYPE_MATCH_PATTERN.source });
const Url = Type.String({ pattern: '^https?://', maxLength: 2048 });

const RegisterBody = Type.Object(
  {
    match: Match,
    url: Url,
    apiKey: Type.Optional(Type.String({ maxLength: 512 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 120_000 })),
    /** The route lapses unless registered again within this time. */
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 5, maximum: 86_400 })),
  },
  { additionalProperties: false },
);
const RemoveBody = Type.Object({ match: Match, url: Url }, { additionalProperties: false });

/** Procedure discovery: backends register the action types they own, for every node of the cluster. */
export function registerActionRoutes(api: FastifyInstance, context: GatewayContext): void {
  api.post<{ Body: Static<typeof RegisterBody> }>('/actions/routes', { schema: { body: RegisterBody } }, async (request) => {
    const { match, url, apiKey = '', timeoutMs = 5_000, ttlSeconds = 60 } = request.body;
    const now = Date.now();
    await context.registeredRoutes.register({ match, url, apiKey, timeoutMs, registeredAt: now, expiresAt: 0 }, ttlSeconds * 1000);
    return { match, url, timeoutMs, expiresAt: new Date(now + ttlSeconds * 1000).toISOString() };
  });

  api.post<{ Body: Static<typeof RemoveBody> }>('/actions/routes/remove', { schema: { body: RemoveBody } }, async (request) => {
    return { removed: await context.registeredRoutes.remove(request.body.match, request.body.url) };
  });

  api.get('/actions/routes', async () => ({
    configured: context.config.actions.routes.map(({ match, url, timeoutMs }) => ({ match, url, timeoutMs })),
    registered: (await context.registeredRoutes.list()).map(describe),
  }));
}

/** A registered route as the API shows it: without the key the gateway sends to the backend. */
function describe(route: RegisteredRoute) {
  return {
    match: route.match, url: route.url, timeoutMs: route.timeoutMs,
    registeredAt: new Date(route.registeredAt).toISOString(), expiresAt: new Date(route.expiresAt).toISOString(),
  };
}
