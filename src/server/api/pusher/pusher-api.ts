import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WsgateError } from '../../../protocol/errors.js';
import { classifyFailure } from '../../engine/failure.js';
import { PusherApps } from '../../pusher/apps.js';
import { verifyRequestSignature } from '../../pusher/signatures.js';
import type { GatewayContext } from '../context.js';
import { registerPusherChannelRoutes } from './pusher-channel-routes.js';
import { registerPusherEventRoutes } from './pusher-event-routes.js';
import { PusherApiError, type PusherRequest, type PusherRoute, type PusherRouter } from './pusher-request.js';

/**
 * The Pusher Channels HTTP API at `/apps/{id}/...` on the gateway's port, for the apps of `pusher.apps`. Every request
 * is signed by Pusher's query scheme with the app's secret, the body MD5 taken over the bytes as they arrived (so the
 * body is parsed only after the check). Refusals carry Pusher's statuses with a plain-text body: 400 bad request or
 * wrong `body_md5`, 401 bad or stale signature, 404 unknown app, 413 event data over `maxEventBytes`. Without apps
 * nothing is registered and `/apps/...` answers 404 like any unknown route.
 */
export async function registerPusherApi(app: FastifyInstance, context: GatewayContext): Promise<void> {
  const apps = new PusherApps(context.config.pusher.apps);
  if (apps.size === 0) return;
  const windowSeconds = context.config.pusher.authTimestampWindowSeconds;
  await app.register((api, _options, done) => {
    // The signature covers the raw body: every content type arrives as text, parsed by the route after the check.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));
    api.setErrorHandler((error: FastifyError | PusherApiError | WsgateError, request, reply) => {
      const refusal = toPusherError(error, context.engine.isHealthy());
      if (refusal.status >= 500) context.logger[refusal.status === 500 ? 'error' : 'warn']({ err: error, path: request.url.split('?')[0] }, 'Pusher API request failed');
      void reply.status(refusal.status).type('text/plain; charset=utf-8').send(refusal.message);
    });
    if (context.config.api.audit) {
      api.addHook('onResponse', async (request, reply) => {
        if (request.method !== 'GET' && request.method !== 'HEAD') auditLine(context, request, reply);
      });
    }
    const route = (handler: PusherRoute) => async (request: FastifyRequest, reply: FastifyReply) => {
      const pusher = checkRequest(apps, request, windowSeconds);
      const answer = await handler(request, pusher);
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(answer));
    };
    const router: PusherRouter = {
      get: (path, handler) => void api.get(path, route(handler)),
      post: (path, handler) => void api.post(path, route(handler)),
    };
    registerPusherEventRoutes(router, context);
    registerPusherChannelRoutes(router, context);
    done();
  }, { prefix: '/apps/:appId' });
}

/**
 * One info line per state-changing call, like the server API's (`api.audit`): the app and the route's parameters (never
 * the signature), how it ended, and the caller's real address.
 */
function auditLine(context: GatewayContext, request: FastifyRequest, reply: FastifyReply): void {
  const { appId, ...target } = request.params as Record<string, string>;
  context.logger.info(
    {
      audit: { app: appId, method: request.method, route: request.routeOptions.url ?? request.url.split('?')[0], target, status: reply.statusCode },
      ip: context.clientAddresses.ofRequest(request.raw),
    },
    'Pusher API call',
  );
}

/** The app named in the path, the signature checked over method, path, query and raw body; then the body parsed. */
function checkRequest(apps: PusherApps, request: FastifyRequest, windowSeconds: number): PusherRequest {
  const app = apps.withId((request.params as { appId: string }).appId);
  if (!app) throw new PusherApiError(404, 'Unknown app');
  const raw = typeof request.body === 'string' ? request.body : '';
  const path = (request.raw.url ?? request.url).split('?')[0]!;
  const query = request.query as Record<string, string | string[] | undefined>;
  const failure = verifyRequestSignature(app, { method: request.method, path, query, body: raw }, Date.now(), windowSeconds);
  if (failure) throw new PusherApiError(failure.status, failure.reason);
  return { app, body: parseBody(raw) };
}

function parseBody(raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new PusherApiError(400, 'Body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PusherApiError(400, 'Body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Framework and node failures in Pusher's terms; what the gateway's catalogue says stays in the message. */
function toPusherError(error: FastifyError | PusherApiError | WsgateError, engineHealthy: boolean): PusherApiError {
  if (error instanceof PusherApiError) return error;
  if (error instanceof WsgateError) return fromWsgateError(error);
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) return new PusherApiError(413, 'Request body too large', { cause: error });
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return new PusherApiError(400, error.message, { cause: error });
  return fromWsgateError(classifyFailure(error, engineHealthy));
}

/** Server failures, rate limits and sizes keep their status; any other refusal is Pusher's 400. */
function fromWsgateError(error: WsgateError): PusherApiError {
  const kept = error.status >= 500 || error.status === 429 || error.status === 413;
  return new PusherApiError(kept ? error.status : 400, error.message, { cause: error });
}
