import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from './context.js';

export function registerHealthRoutes(app: FastifyInstance, context: GatewayContext): void {
  /** Alive: the process answers. */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /** Ready: accepting sessions, and the shared-state engine is reachable. */
  app.get('/readyz', async (_request, reply) => {
    const draining = context.isDraining();
    const engine = context.engine.isHealthy();
    const ready = !draining && engine;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', draining, engine: engine ? 'up' : 'down' });
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(context.metrics.registry.contentType).send(await context.metrics.registry.metrics());
  });
}
