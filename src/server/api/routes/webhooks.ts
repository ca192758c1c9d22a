import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { WsgateError } from '../../../protocol/errors.js';
import type { GatewayContext } from '../context.js';
import { DeadLetterQuery, ReplayBody, WebhookEndpointParams } from '../schemas.js';

/** Webhook endpoints: their backlog, and their dead letters to list and send again. */
export function registerWebhookRoutes(api: FastifyInstance, context: GatewayContext): void {
  const { webhooks } = context;
  const endpointNamed = (name: string): string => {
    if (!webhooks.endpoint(name)) throw new WsgateError('WEBHOOK_ENDPOINT_UNKNOWN', `no webhook endpoint named "${name}"`);
    return name;
  };

  api.get('/webhooks', async () => ({ node: context.nodeId, endpoints: await webhooks.status() }));

  api.get<{ Params: Static<typeof WebhookEndpointParams>; Querystring: Static<typeof DeadLetterQuery> }>(
    '/webhooks/:endpoint/dead-letters',
    { schema: { params: WebhookEndpointParams, querystring: DeadLetterQuery } },
    async (request) => {
      const endpoint = endpointNamed(request.params.endpoint);
      const page = await webhooks.deadLetters(endpoint, request.query.cursor ?? null, request.query.limit ?? 100);
      return { endpoint, ...page };
    },
  );

  api.post<{ Params: Static<typeof WebhookEndpointParams>; Body: Static<typeof ReplayBody> }>(
    '/webhooks/:endpoint/dead-letters/replay',
    { schema: { params: WebhookEndpointParams, body: ReplayBody } },
    async (request) => {
      const endpoint = endpointNamed(request.params.endpoint);
      const body = request.body ?? {};
      return { endpoint, replayed: await webhooks.replay(endpoint, body.ids ?? null, body.limit ?? 100) };
    },
  );
}
