import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ApiKeyCheck } from './api-key.js';
import type { GatewayContext } from './context.js';

const TicketBody = Type.Object(
  {
    user: Type.Union([Type.String({ pattern: '^[A-Za-z0-9_\\-.@:+]{1,128}$' }), Type.Null()]),
    claims: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

/** The server API for backends, under `/api`, behind an API key. */
export function registerServerApi(api: FastifyInstance, context: GatewayContext): void {
  const keys = new ApiKeyCheck(context.config.apiKeys);
  api.addHook('onRequest', async (request) => keys.assert(request.headers.authorization));

  api.post<{ Body: Static<typeof TicketBody> }>('/tickets', { schema: { body: TicketBody } }, async (request) => {
    const { user, claims = {}, ttlSeconds } = request.body;
    const minted = await context.tickets.mint(user, claims, ttlSeconds);
    return { ticket: minted.ticket, expiresAt: minted.expiresAt.toISOString() };
  });
}
