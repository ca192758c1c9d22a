/**
 * Tracing in one process, with the OpenTelemetry SDK's in-memory exporter: the spans wsgate starts (names, kinds,
 * attributes, parent and child), the `traceparent` each backend receives (the span that called it), a backend's
 * `traceparent` on the server API, and what spans never hold (credentials, payloads, one span per delivery).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { connectAs, open, type TestClient } from '../helpers/client.js';
import { API_KEY, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { testSecret } from '../support/webhook-receiver.js';
import { waitFor } from '../support/wait.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager().enable();

/** What a backend received: the path it was called on, its trace header and its body. */
interface BackendCall {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** One real HTTP backend for every kind of call: actions, authorize, the connect hook and webhooks. */
async function startBackend(): Promise<{ server: Server; url: string; calls: BackendCall[] }> {
  const calls: BackendCall[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      calls.push({ path: request.url ?? '', headers: request.headers, body });
      const json = (value: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (request.url === '/actions') json({ payload: { ok: true } });
      else if (request.url === '/authorize') json({ allow: body.channel !== 'team:closed' });
      else if (request.url === '/connect') json({ user: 'hooked', claims: {} });
      else response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

const named = (name: string) => exporter.getFinishedSpans().filter((span) => span.name === name);
const one = async (name: string, match: (span: ReadableSpan) => boolean = () => true): Promise<ReadableSpan> => {
  await waitFor(() => named(name).some(match), 5_000, `a ${name} span`);
  return named(name).find(match)!;
};
/** `00-<trace id>-<span id>-<flags>` as W3C Trace Context writes it. */
const traceparentOf = (span: ReadableSpan) => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

describe('tracing with the OpenTelemetry SDK', { timeout: 60_000 }, () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let gw: RunningGateway;
  const clients: TestClient[] = [];
  before(async () => {
    context.setGlobalContextManager(contextManager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    backend = await startBackend();
    gw = await startGateway({
      auth: { connectHook: { url: `${backend.url}/connect`, apiKey: 'hook-key-0123456789', timeoutMs: 2_000 } },
      actions: { routes: [{ match: 'order.*', url: `${backend.url}/actions`, apiKey: 'route-key-0123456789' }] },
      namespaces: {
        chat: { publish: true },
        team: { publish: true, authorize: { url: `${backend.url}/authorize`, apiKey: 'authz-key-0123456789', timeoutMs: 2_000, cacheSeconds: 0 } },
        hooks: { publish: true, webhooks: { published: true } },
      },
      webhooks: { endpoints: [{ url: `${backend.url}/webhooks`, name: 'backend', secrets: [testSecret('tracing')], lingerMs: 5, events: ['channel.published'] }], pollIntervalMs: 20 },
    } as never);
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await gw.stop();
    backend.server.closeAllConnections();
    backend.server.close();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());
  const track = (client: TestClient) => (clients.push(client), client);

  test('a handshake is a server span; an action routed to its backend is a client span whose traceparent the backend receives', async () => {
    const alice = track(await connectAs(gw, 'alice'));
    const handshake = await one('wsgate.handshake');
    assert.equal(handshake.kind, SpanKind.SERVER);
    assert.deepEqual(handshake.attributes, { 'wsgate.subprotocol': 'wsgate.v1.json', 'wsgate.auth.method': 'ticket' });
    assert.equal(handshake.status.code, SpanStatusCode.UNSET);

    const reply = await alice.request({ type: 'order.create', payload: { sku: 'A-1' } });
    assert.deepEqual(reply.payload, { ok: true });
    const action = await one('wsgate.action');
    assert.equal(action.kind, SpanKind.CLIENT);
    assert.equal(action.attributes['wsgate.action.type'], 'order.create');
    assert.equal(action.attributes['wsgate.session'], alice.welcome!.session);
    assert.equal(action.attributes['http.response.status_code'], 200);
    assert.equal(action.attributes['url.full'], `${backend.url}/actions`);
    const call = backend.calls.findLast((c) => c.path === '/actions')!;
    assert.equal(call.headers.traceparent, traceparentOf(action));
  });

  test('a handshake the connect hook decides is the parent of the hook call, and the hook receives that trace', async () => {
    const client = track(await open(gw.wsUrl));
    assert.equal((await client.seen('welcome')).user, 'hooked');
    const hook = await one('wsgate.connect_hook');
    const handshake = await one('wsgate.handshake', (span) => span.attributes['wsgate.auth.method'] === 'hook');
    assert.equal(hook.spanContext().traceId, handshake.spanContext().traceId);
    assert.equal(hook.parentSpanContext?.spanId, handshake.spanContext().spanId);
    assert.equal(backend.calls.findLast((c) => c.path === '/connect')!.headers.traceparent, traceparentOf(hook));
  });

  test('an authorize call is a client span with the channel and the action; the decision backend receives its traceparent', async () => {
    const bob = track(await connectAs(gw, 'bob'));
    await bob.subscribe('team:open');
    const authorize = await one('wsgate.authorize');
    assert.equal(authorize.kind, SpanKind.CLIENT);
    assert.equal(authorize.attributes['wsgate.channel'], 'team:open');
    assert.equal(authorize.attributes['wsgate.authorize.action'], 'subscribe');
    assert.equal(backend.calls.findLast((c) => c.path === '/authorize')!.headers.traceparent, traceparentOf(authorize));
  });

  test('a server-API call continues the trace of the backend that made it, and its publication reaches subscribers without a span each', async () => {
    const subscribers = await Promise.all(['s1', 's2', 's3'].map(async (user) => {
      const client = track(await connectAs(gw, user));
      await client.subscribe('chat:room');
      return client;
    }));
    exporter.reset();
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const deliveries = subscribers.map((client) => client.next('message'));
    const response = await fetch(`${gw.httpUrl}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', traceparent: incoming },
      body: JSON.stringify({ channel: "chat:room", data: { text: "secret payload" } }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    await Promise.all(deliveries);
    const span = await one('POST /api/publish');
    assert.equal(span.kind, SpanKind.SERVER);
    assert.equal(span.spanContext().traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(span.parentSpanContext?.spanId, '00f067aa0ba902b7');
    assert.equal(span.parentSpanContext?.isRemote, true);
    assert.deepEqual(span.attributes, { 'http.request.method': 'POST', 'http.route': '/api/publish', 'http.response.status_code': 200 });
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), ['POST /api/publish'], 'one span for the call, none per delivered message');
  });

  test('the calls of a server-API batch are children of the batch', async () => {
    const response = await fetch(`${gw.httpUrl}/api/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ method: 'POST', path: '/api/publish', body: { channel: 'chat:a', data: 1 } }, { method: 'GET', path: '/api/info' }] }),
    });
    assert.equal(response.status, 200);
    const batch = await one('POST /api/batch');
    await waitFor(() => exporter.getFinishedSpans().length >= 3, 5_000, 'the items\' spans');
    const items = exporter.getFinishedSpans().filter((span) => span !== batch);
    assert.deepEqual(items.map((span) => span.name).sort(), ['GET /api/info', 'POST /api/publish']);
    for (const item of items) assert.equal(item.parentSpanContext?.spanId, batch.spanContext().spanId);
  });

  test('a refused server-API call records the catalogue code; a refused handshake its error; neither records credentials', async () => {
    const refused = await fetch(`${gw.httpUrl}/api/publish?token=query-secret`, {
      method: 'POST', headers: { authorization: 'Bearer wrong-key-0123456789', 'content-type': 'application/json' }, body: '{"data":1}',
    });
    assert.equal(refused.status, 401);
    const api = await one('POST /api/publish');
    assert.equal(api.attributes['error.type'], 'UNAUTHORIZED');
    assert.equal(api.attributes['http.response.status_code'], 401);

    await open(`${gw.wsUrl}?ticket=ticket-secret-0123456789`).then((client) => client.ws.terminate(), () => {});
    const handshake = await one('wsgate.handshake', (span) => span.status.code === SpanStatusCode.ERROR);
    assert.equal(handshake.attributes['error.type'], 'TICKET_INVALID');

    const recorded = JSON.stringify(exporter.getFinishedSpans().map((span) => ({ name: span.name, attributes: span.attributes, status: span.status, events: span.events })));
    for (const secret of ['query-secret', 'ticket-secret', 'wrong-key', API_KEY, 'hook-key', 'route-key', 'authz-key']) assert.ok(!recorded.includes(secret), `${secret} is not in any span`);
  });

  test('a webhook delivery is a client span of its own trace with the endpoint, event count and attempt; the endpoint receives its traceparent', async () => {
    const carol = track(await connectAs(gw, 'carol'));
    assert.equal((await carol.request({ type: 'publish', channel: 'hooks:feed', data: { text: 'not in a span' } })).type, 'published');
    const delivery = await one('wsgate.webhook.delivery');
    assert.equal(delivery.kind, SpanKind.CLIENT);
    assert.equal(delivery.parentSpanContext, undefined, 'a batch serves many requests: it starts a trace');
    assert.equal(delivery.attributes['wsgate.webhook.endpoint'], 'backend');
    assert.equal(delivery.attributes['wsgate.webhook.events'], 1);
    assert.equal(delivery.attributes['wsgate.webhook.attempt'], 1);
    assert.equal(delivery.attributes['http.response.status_code'], 204);
    const call = backend.calls.findLast((c) => c.path === '/webhooks')!;
    assert.equal(delivery.attributes['wsgate.webhook.message_id'], call.headers['webhook-id']);
    assert.equal(call.headers.traceparent, traceparentOf(delivery));
    assert.ok(!JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes)).includes('not in a span'));
  });
});
