import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WsgateError } from '../../protocol/errors.js';
import { contextFromHeaders, SpanKind, SpanStatusCode, startSpan, withSpan, type Span } from '../observability/tracing.js';

/**
 * A server span per server-API call, named `METHOD route` (the route pattern, never the raw URL: ids and query strings
 * stay out). A `traceparent` the calling backend sends makes the call part of the backend's trace. The handler runs
 * with the span active, so whatever the call asks of other backends is its child. Register before the other hooks.
 */
export function traceServerApi(api: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  api.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url ?? 'unmatched';
    spans.set(request, startSpan(`${request.method} ${route}`, SpanKind.SERVER, { 'http.request.method': request.method, 'http.route': route }, contextFromHeaders(request.headers)));
  });
  api.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (span) withSpan(span, done);
    else done();
  });
  // The catalogue code of a failed call; a 4xx is the caller's mistake and leaves the span's status unset.
  const failures = new WeakMap<FastifyRequest, string>();
  api.addHook('onError', async (request, _reply, error) => {
    failures.set(request, error instanceof WsgateError ? error.code : error.name);
  });
  api.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    const failure = failures.get(request);
    if (failure !== undefined) span.setAttribute('error.type', failure);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: failure ?? String(reply.statusCode) });
    span.end();
  });
}
