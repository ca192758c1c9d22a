import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { acceptProxyProtocol } from '../transport/proxy-protocol.js';
import { WsgateError } from '../../protocol/errors.js';
import { stripQuery } from '../observability/logger.js';
import type { GatewayContext } from './context.js';
import { validatorCompiler } from './validation.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerServerApi } from './server-api.js';
import { registerWebRoutes } from './web-routes.js';

/** The node's HTTP side: health, metrics, browser auth, the server API and the demo page. */
export async function createHttpApp(context: GatewayContext): Promise<FastifyInstance> {
  const app = Fastify({
    // With `tls.cert`/`tls.key` the node speaks HTTPS (and so `wss://`) itself.
    ...(context.tls.enabled ? { https: context.tls.read() } : {}),
    bodyLimit: context.config.limits.apiBodyBytes,
    logger: false,
    return503OnClosing: false,
    // Channel names (up to 265 characters, URL-encoded longer) travel as path parameters.
    routerOptions: { maxParamLength: 1024 },
  });
  if (context.clientAddresses.proxyProtocol) {
    acceptProxyProtocol(app.server, {
      trusted: (address) => context.clientAddresses.isTrusted(address),
      timeoutMs: PROXY_HEADER_TIMEOUT_MS,
      onHeader: (socket, header) => {
        if (header.source !== null) context.clientAddresses.setConnectionSource(socket, header.source);
      },
      onRefused: (socket, error) => {
        context.metrics.proxyHeaderFailures.inc();
        context.logger.warn({ err: error, peer: socket.remoteAddress }, 'connection from a trusted proxy without a valid PROXY header dropped');
      },
    });
  }
  app.setValidatorCompiler(validatorCompiler);
  // `curl -X POST -H 'content-type: application/json'` without a body is a request without a body, not an error.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') done(null, undefined);
    else parseJson(request, text, done);
  });

  // Calls by route pattern (never the raw URL: ids in paths would explode the label set).
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    context.metrics.apiRequests.inc({ route, method, status: String(reply.statusCode) });
    context.metrics.apiLatency.observe({ route, method }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError | WsgateError, request, reply) => {
    const wsgateError = toWsgateError(error);
    if (wsgateError.code === 'INTERNAL') context.logger.error({ err: error, path: stripQuery(request.url), ip: context.clientAddresses.ofRequest(request.raw) }, 'request failed');
    const body: Record<string, unknown> = { code: wsgateError.code, message: wsgateError.message };
    if (wsgateError.retryAfter !== undefined) {
      body.retryAfter = wsgateError.retryAfter;
      void reply.header('retry-after', String(Math.ceil(wsgateError.retryAfter)));
    }
    void reply.status(wsgateError.status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${stripQuery(request.url)}` });
  });

  registerHealthRoutes(app, context);
  registerAuthRoutes(app, context);
  await app.register((api, _options, done) => {
    registerServerApi(api, context);
    done();
  }, { prefix: '/api' });
  if (context.config.web.demo) await registerWebRoutes(app);
  return app;
}

/** A trusted proxy sends its PROXY header at once; a connection silent this long is not one of its connections. */
const PROXY_HEADER_TIMEOUT_MS = 5_000;

/** Maps framework errors (parsing, body size, schema validation) onto the catalogue. */
function toWsgateError(error: FastifyError | WsgateError): WsgateError {
  if (error instanceof WsgateError) return error;
  if (error.validation) return new WsgateError('BODY_INVALID', `body ${error.message.replace(/^body\/?/, '')}`, { cause: error });
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new WsgateError('BODY_TOO_LARGE', undefined, { cause: error });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new WsgateError('BODY_INVALID', error.message, { cause: error });
  }
  if (error instanceof SyntaxError || error.statusCode === 400) return new WsgateError('BODY_INVALID', 'body is not valid JSON', { cause: error });
  if (error.statusCode === 405) return new WsgateError('METHOD_NOT_ALLOWED');
  if (error.statusCode === 413) return new WsgateError('BODY_TOO_LARGE');
  return new WsgateError('INTERNAL', undefined, { cause: error });
}
