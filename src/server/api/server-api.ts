import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WsgateError } from '../../protocol/errors.js';
import { TokenBucket } from '../limits/token-bucket.js';
import { Type, type Static } from '@sinclair/typebox';
import { ApiKeyCheck } from './api-key.js';
import { traceServerApi } from './request-tracing.js';
import type { GatewayContext } from './context.js';
import { registerActionRoutes } from './routes/actions.js';
import { registerBatchRoute, RouteTable } from './routes/batch.js';
import { registerChannelRoutes } from './routes/channels.js';
import { registerCredentialRoutes } from './routes/credentials.js';
import { registerInfoRoutes } from './routes/info.js';
import { registerUserRoutes } from './routes/users.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
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
  // The console's actions come in with a key of their own, made by this process and never shown.
  const keys = new ApiKeyCheck(context.admin ? [...context.config.apiKeys, context.admin.apiKey] : context.config.apiKeys);
  const callers = new WeakMap<FastifyRequest, string>();
  const limit = apiRateLimiter(context);
  traceServerApi(api);
  // These hooks run on every call (a ticket request is on every connect's path): they take `done` rather than being
  // async, so no promise is made per hook where nothing is awaited. A check that throws fails the call as before.
  api.addHook('onRequest', (request, _reply, done) => {
    const keyId = keys.assert(request.headers.authorization);
    callers.set(request, keyId);
    if (limit) limit(keyId).then(() => done(), done);
    else done();
  });
  // The same check a batch runs for each item before any runs (see route-check.ts).
  api.addHook('preHandler', (request, _reply, done) => {
    request.routeOptions.config.check?.({ params: request.params as Record<string, string>, body: request.body });
    done();
  });
  if (context.config.api.audit) {
    api.addHook('onResponse', (request, reply, done) => {
      const key = callers.get(request);
      // Below the info level the line would be dropped: it is not even built.
      if (key !== undefined && request.method !== 'GET' && request.method !== 'HEAD' && context.logger.isLevelEnabled('info')) auditLine(context, key, request, reply);
      done();
    });
  }
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
  registerWebhookRoutes(api, context);
  registerBatchRoute(api, routes);
}

/**
 * Calls per API key across the cluster (`api.rateLimit`), in the engine's buckets so every node counts against one
 * allowance; with the engine unreachable, each node counts alone. Over it: 429 RATE_LIMITED with `retryAfter`. Null
 * when unlimited.
 */
function apiRateLimiter(context: GatewayContext): ((keyId: string) => Promise<void>) | null {
  const { rate, burst } = context.config.api.rateLimit;
  if (rate === 0) return null;
  const local = new Map<string, TokenBucket>();
  return async (keyId) => {
    let wait: number;
    try {
      wait = await context.engine.rateLimits.take({ kind: 'apiKey', id: keyId }, 'api', { rate, burst });
    } catch {
      let bucket = local.get(keyId);
      if (!bucket) local.set(keyId, (bucket = new TokenBucket(rate, burst)));
      wait = bucket.take();
    }
    if (wait > 0) {
      context.metrics.rateLimited.inc({ class: 'api' });
      throw new WsgateError('RATE_LIMITED', 'API key over its rate limit', { retryAfter: Math.max(0.001, Math.round(wait * 1000) / 1000) });
    }
  };
}

/** Body fields that name what a call acts on. */
const TARGET_FIELDS = ['channel', 'user', 'session', 'match', 'jti'] as const;

/** One info line per state-changing call: who (key id, never the key), what (route, target) and how it ended. */
function auditLine(context: GatewayContext, key: string, request: FastifyRequest, reply: FastifyReply): void {
  const target: Record<string, unknown> = { ...(request.params as Record<string, unknown> | undefined) };
  const body = request.body as Record<string, unknown> | undefined;
  if (body && typeof body === 'object') {
    for (const field of TARGET_FIELDS) if (typeof body[field] === 'string' || body[field] === null) target[field] ??= body[field];
    if (Array.isArray(body.requests)) target.items = body.requests.length;
  }
  context.logger.info(
    {
      audit: { key, method: request.method, route: request.routeOptions.url ?? request.url.split('?')[0], target, status: reply.statusCode },
      ip: context.clientAddresses.ofRequest(request.raw),
    },
    'server API call',
  );
}
