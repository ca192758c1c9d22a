/**
 * Folder api/: the node's HTTP side — health and metrics, browser auth, the server API for backends, the Pusher HTTP
 * API, the demo page and the operator console's routes. Routes parse and check a request, call the node's commands
 * (`NodeCommands`) or the auth, webhook and route-table services, and answer; they do no domain work. It may import
 * node/ (commands and the types they take), channels/ (rules for checks), pusher/ (apps, names, signatures), auth/,
 * rpc/, webhooks/, admin/, cluster/ (views), transport/ and the layers below; nothing but the composition root
 * imports it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { acceptProxyProtocol } from '../transport/proxy-protocol.js';
import { WsgateError } from '../../protocol/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../protocol/json-depth.js';
import type { Config } from '../config/schema.js';
import { classifyFailure } from '../engine/failure.js';
import { stripQuery } from '../observability/logger.js';
import { writeErrorResponse } from '../transport/error-response.js';
import { parseRequestTarget } from '../transport/request-target.js';
import type { GatewayContext } from './context.js';
import { validatorCompiler } from './validation.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerPusherApi } from './pusher/pusher-api.js';
import { ROUTER_OPTIONS } from './routes/batch.js';
import { registerServerApi } from './server-api.js';
import { registerStreamingRoutes } from './streaming-routes.js';
import { registerWebRoutes } from './web-routes.js';
import { registerAdminRoutes } from './admin-routes.js';

/** The node's HTTP side: health, metrics, browser auth, the server API, the Pusher HTTP API, the demo page and the operator console. */
export async function createHttpApp(context: GatewayContext): Promise<FastifyInstance> {
  const timeouts = context.config.http;
  const app = Fastify({
    // With `tls.cert`/`tls.key` the node speaks HTTPS (and so `wss://`) itself.
    ...(context.tls.enabled ? { https: context.tls.read() } : {}),
    bodyLimit: context.config.limits.apiBodyBytes,
    logger: false,
    return503OnClosing: false,
    routerOptions: ROUTER_OPTIONS,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    maxRequestsPerSocket: timeouts.maxRequestsPerSocket,
    http: {
      // Node refuses a headers timeout longer than the request timeout.
      headersTimeout: Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs),
      connectionsCheckingInterval: checkingInterval(timeouts),
    },
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(context, error, socket),
    // A path with malformed percent-encoding never reaches routing.
    frameworkErrors: (_error, _request, reply: FastifyReply) => void reply.status(400).send(errorBody(new WsgateError('REQUEST_INVALID'))),
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
  // Hooks on every request take `done` rather than being async: no promise per hook per request.
  app.addHook('onRequest', (request, reply, done) => {
    watchBody(app, request.raw, reply.raw, timeouts.bodyTimeoutMs);
    done();
  });
  // `curl -X POST -H 'content-type: application/json'` without a body is a request without a body, not an error.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') done(null, undefined);
    // Deep data parses, but serializing it again overflows the stack: refused before any handler sees it.
    else if (exceedsJsonDepth(text)) done(new WsgateError('BODY_INVALID', `body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    else parseJson(request, text, done);
  });

  // Calls by route pattern (never the raw URL: ids in paths would explode the label set).
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    context.metrics.apiRequests.inc({ route, method, status: String(reply.statusCode) });
    context.metrics.apiLatency.observe({ route, method }, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error: FastifyError | WsgateError, request, reply) => {
    const wsgateError = toWsgateError(error, context.engine.isHealthy());
    if (wsgateError.code === 'INTERNAL') context.logger.error({ err: error, path: stripQuery(request.url), ip: context.clientAddresses.ofRequest(request.raw) }, 'request failed');
    if (wsgateError.retryAfter !== undefined) void reply.header('retry-after', String(Math.ceil(wsgateError.retryAfter)));
    void reply.status(wsgateError.status).send(errorBody(wsgateError));
  });
  app.setNotFoundHandler((request, reply) => {
    // A target that is not a URL (`//[bad/…`) matches no route: it is bad input, not a missing page.
    const error = isRequestTarget(request.url)
      ? new WsgateError('NOT_FOUND', `no route ${request.method} ${stripQuery(request.url)}`)
      : new WsgateError('REQUEST_INVALID', 'request target is not a valid URL');
    void reply.status(error.status).send(errorBody(error));
  });

  registerHealthRoutes(app, context);
  registerAuthRoutes(app, context);
  if (context.config.streaming.enabled) registerStreamingRoutes(app, context);
  await app.register((api, _options, done) => {
    registerServerApi(api, context);
    done();
  }, { prefix: '/api' });
  await registerPusherApi(app, context);
  if (context.config.web.demo) await registerWebRoutes(app);
  if (context.admin) await registerAdminRoutes(app, context, context.admin);
  return app;
}

/** A trusted proxy sends its PROXY header at once; a connection silent this long is not one of its connections. */
const PROXY_HEADER_TIMEOUT_MS = 5_000;

function errorBody(error: WsgateError): Record<string, unknown> {
  const body: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.retryAfter !== undefined) body.retryAfter = error.retryAfter;
  return body;
}

function isRequestTarget(target: string): boolean {
  try {
    parseRequestTarget(target);
    return true;
  } catch {
    return false;
  }
}

/** Maps framework errors (parsing, body size, schema validation) onto the catalogue; other failures are classified. */
function toWsgateError(error: FastifyError | WsgateError, engineHealthy: boolean): WsgateError {
  if (error instanceof WsgateError) return error;
  if (error.validation) return new WsgateError('BODY_INVALID', `body ${error.message.replace(/^body\/?/, '')}`, { cause: error });
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new WsgateError('REQUEST_INVALID', undefined, { cause: error });
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
  return classifyFailure(error, engineHealthy);
}

/**
 * Node checks the header and request timeouts of open requests on an interval (30 s by default); check often enough
 * that a timeout fires within a quarter of itself (at most every second).
 */
function checkingInterval(timeouts: Config['http']): number {
  return Math.max(50, Math.min(1_000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 4)));
}

/**
 * Arms the body timeout while a request body arrives: the socket's idle timer, reset by every chunk, cleared once the
 * body is complete. A body that stalls longer is answered like an expired request.
 */
function watchBody(app: FastifyInstance, req: IncomingMessage, res: ServerResponse, timeoutMs: number): void {
  const socket = req.socket;
  // inject() (batches, tests) has no real socket and its body is already complete.
  if (!(socket instanceof Socket) || req.complete || !hasBody(req)) return;
  const onTimeout = () => {
    if (res.headersSent) socket.destroy();
    else app.server.emit('clientError', Object.assign(new Error('request body timed out'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
  };
  socket.setTimeout(timeoutMs);
  // Node emits 'timeout' on the request only while it is incomplete, so a late timer does not fire this.
  req.once('timeout', onTimeout);
  req.once('end', () => {
    req.off('timeout', onTimeout);
    socket.setTimeout(0);
  });
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Requests the HTTP parser gave up on (malformed, headers too large, timed out) get a catalogue answer. Logged
 * without the error's raw packet: it holds the request line, query string and all.
 */
function answerClientError(context: GatewayContext, error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : error.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'REQUEST_INVALID';
  context.logger.debug({ code: error.code, answer: code }, 'HTTP request refused by the parser');
  writeErrorResponse(socket, new WsgateError(code));
}
