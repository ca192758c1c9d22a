import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';

/** The node at a glance: identity, uptime, engine, load and message rates over the last minute. */
export function registerInfoRoutes(api: FastifyInstance, context: GatewayContext): void {
  api.get('/info', async () => {
    const [messagesIn, messagesOut] = context.metrics.rates.rates();
    return {
      node: context.nodeId,
      startedAt: new Date(context.startedAt).toISOString(),
      uptime: Math.floor((Date.now() - context.startedAt) / 1000),
      engine: context.engine.kind,
      draining: context.isDraining(),
      sessions: context.hub.sessions.size,
      channels: context.hub.channelCount,
      users: context.hub.userCount,
      rates: { messagesIn, messagesOut, windowSeconds: 60 },
    };
  });
}
