import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { WsgateError } from '../../protocol/errors.js';

/**
 * Spans through the OpenTelemetry API only. Until an SDK registers a tracer provider (the CLI does when `OTEL_*`
 * variables ask for traces, see tracing-sdk.ts; an application embedding Gateway registers its own), every call
 * here is the API's no-op: no allocation beyond a shared non-recording span, nothing propagated.
 *
 * What spans may hold: names, ids, counts, routes, statuses and error codes. Never a token, ticket, cookie, API key,
 * claim, payload or query string (tickets and tokens travel in query strings) — docs/observability.md.
 */
const tracer = trace.getTracer('wsgate');

/** The spans wsgate starts; one per operation, never one per delivered message. */
export const SpanName = {
  handshake: 'wsgate.handshake',
  connectHook: 'wsgate.connect_hook',
  action: 'wsgate.action',
  authorize: 'wsgate.authorize',
  webhookDelivery: 'wsgate.webhook.delivery',
} as const;

/** Starts a span, a child of `parent` (the active context when omitted). */
export function startSpan(name: string, kind: SpanKind, attributes?: Attributes, parent: Context = context.active()): Span {
  return tracer.startSpan(name, { kind, ...(attributes ? { attributes } : {}) }, parent);
}

/** Ends a span; with an error, marks it failed with the error's catalogue code (never its message: it may quote input). */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const type = error instanceof WsgateError ? error.code : error instanceof Error ? error.name : 'error';
    span.setAttribute('error.type', type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  }
  span.end();
}

/**
 * False for the API's no-op span outside any trace (no tracer provider registered, no `traceparent` received): such a
 * span records nothing and gives its children nothing to continue, so neither it nor its context need keeping.
 */
export function isTraced(span: Span): boolean {
  return span.isRecording() || trace.isSpanContextValid(span.spanContext());
}

/** Runs `fn` with `span` active, so the spans and trace headers it makes are the span's children. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** The context an incoming request names in its `traceparent` (and `baggage`) headers; the active one without them. */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(context.active(), headers);
}

/** No parent: for work that serves many requests at once (a webhook batch). */
export const NO_PARENT = ROOT_CONTEXT;

/**
 * `fetch` to a backend inside a client span: the span's `traceparent` goes with the request, and the span records the
 * method, the backend's address and path (no query string, no credentials) and the answer's status. A failed request
 * or a 5xx answer marks the span failed; a 4xx does not, since backends answer decisions with them (403: deny).
 */
export async function tracedFetch(
  name: string,
  attributes: Attributes,
  url: string,
  init: RequestInit & { headers: Record<string, string> },
  parent: Context = context.active(),
): Promise<Response> {
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  if (span.isRecording()) span.setAttributes(urlAttributes(url, init.method ?? 'GET'));
  const headers = { ...init.headers };
  propagation.inject(trace.setSpan(parent, span), headers);
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers });
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
  span.setAttribute('http.response.status_code', response.status);
  if (response.status >= 500) {
    span.setAttribute('error.type', String(response.status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
  return response;
}

/** Where a request went, as the HTTP semantic conventions name it, without userinfo or query string. */
function urlAttributes(url: string, method: string): Attributes {
  try {
    const parsed = new URL(url);
    const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
    return {
      'http.request.method': method,
      'server.address': parsed.hostname,
      'server.port': port,
      'url.full': `${parsed.protocol}//${parsed.host}${parsed.pathname}`,
    };
  } catch {
    return { 'http.request.method': method };
  }
}

export { SpanKind, SpanStatusCode, type Span };
