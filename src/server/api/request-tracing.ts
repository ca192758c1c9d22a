import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WsgateError } from '../../protocol/errors.js';
import { contextFromHeaders, isTraced, SpanKind, SpanStatusCode, startSpan, withSpan, type Span } from '../observability/tracing.js';

/**
 * A server span per server-API call, named `METHOD route` (the route pattern, never the raw URL: ids and query strings
 * stay out). A `traceparent` the calling backend sends makes the call part of the backend's trace. The handler runs
 * with the span active, so whatever the call asks of other backends is its child. Register before the other hooks.
 * Without a tracer (and no trace to continue) the span is the API's no-op and nothing more is done for the call.
 */
export function traceServerApi(api: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  api.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const span = startSpan(`${request.method} ${route}`, SpanKind.SERVER, { 'http.request.method': request.method, 'http.route': route }, contextFromHeaders(request.headers));
    if (isTraced(span)) spans.set(request, span);
    done();
  });
  api.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (span) withSpan(span, done);
    else done();
  });
  // The catalogue code of a failed call; a 4xx is the caller's mistake and leaves the span's status unset.
  const failures = new WeakMap<FastifyRequest, string>();
  api.addHook('onError', (request, _reply, error, done) => {
    if (spans.has(request)) failures.set(request, error instanceof WsgateError ? error.code : error.name);
    done();
  });
  api.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      const failure = failures.get(request);
      if (failure !== undefined) span.setAttribute('error.type', failure);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: failure ?? String(reply.statusCode) });
      span.end();
    }
    done();
  });
}
