/**
 * Tracing as operators turn it on: a real `wsgate serve` process configured only through `OTEL_*` variables exports
 * its spans over OTLP/HTTP to a receiver written here (a real HTTP server that decodes the OTLP JSON export), and the
 * trace id a backend received in `traceparent` is the one of the exported spans. Without the variables, nothing is
 * propagated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { requestedExporters } from '../../src/server/observability/tracing-sdk.js';
import { connect, type TestClient } from '../helpers/client.js';
import { API_KEY, startNode, type NodeProcess } from '../cluster/support/node.js';
import { waitFor } from '../support/wait.js';

/** One span as OTLP JSON carries it: ids in hex, attributes as typed values. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}
interface ExportedSpan extends OtlpSpan {
  resource: Record<string, unknown>;
  attributeMap: Record<string, unknown>;
}

const attributeMap = (attributes: OtlpSpan['attributes'] = []) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]));

/** An OTLP/HTTP trace receiver: `POST /v1/traces` with an ExportTraceServiceRequest in JSON (gzip or not). */
async function startOtlpReceiver(): Promise<{ server: Server; url: string; spans: ExportedSpan[]; contentTypes: string[] }> {
  const spans: ExportedSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      contentTypes.push(request.headers['content-type'] ?? '');
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const exported = JSON.parse(body.toString()) as {
        resourceSpans: Array<{ resource?: { attributes?: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const { resource, scopeSpans } of exported.resourceSpans) {
        for (const { spans: batch } of scopeSpans) {
          for (const span of batch) spans.push({ ...span, resource: attributeMap(resource?.attributes), attributeMap: attributeMap(span.attributes) });
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes };
}

/** The backend that owns `order.*`, keeping the headers of every call. */
async function startBackend(): Promise<{ server: Server; url: string; calls: IncomingHttpHeaders[] }> {
  const calls: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    request.resume().on('end', () => {
      calls.push(request.headers);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"payload":{"ok":true}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/actions`, calls };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

describe('tracing of a wsgate process configured by OTEL_* variables', { timeout: 60_000 }, () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let backend: Awaited<ReturnType<typeof startBackend>>;
  const nodes: NodeProcess[] = [];
  const clients: TestClient[] = [];
  const tickets: string[] = [];
  before(async () => {
    [receiver, backend] = await Promise.all([startOtlpReceiver(), startBackend()]);
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
    for (const server of [receiver.server, backend.server]) {
      server.closeAllConnections();
      server.close();
    }
  });
  const config = (nodeId: string) => ({ nodeId, auth: { anonymous: false }, actions: { routes: [{ match: 'order.*', url: backend.url }] } });

  /** A session of `user` on `node`, its ticket minted through the server API with `traceparent` (when given). */
  async function session(node: NodeProcess, user: string, traceparent?: string): Promise<TestClient> {
    const minted = await fetch(`${node.httpUrl}/api/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(traceparent ? { traceparent } : {}) },
      body: JSON.stringify({ user }),
    });
    assert.equal(minted.status, 200);
    const { ticket } = (await minted.json()) as { ticket: string };
    tickets.push(ticket);
    const client = await connect(node.wsUrl, { ticket });
    clients.push(client);
    return client;
  }

  test('spans go to the OTLP/HTTP endpoint, and the backend received the trace id of the exported action span', async () => {
    const node = await startNode(config('traced'), 15_000, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_SERVICE_NAME: 'wsgate-under-test',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
      },
    });
    nodes.push(node);
    assert.match(node.output(), /"tracing on"/);

    const caller = '00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-01';
    const alice = await session(node, 'alice', caller);
    const reply = await alice.request({ type: 'order.create', payload: { sku: 'A-1' } });
    assert.deepEqual(reply.payload, { ok: true });
    const [, traceId, spanId] = TRACEPARENT.exec(String(backend.calls.at(-1)!.traceparent))!;

    await waitFor(() => receiver.spans.some((span) => span.spanId === spanId), 10_000, 'the action span to be exported');
    const action = receiver.spans.find((span) => span.spanId === spanId)!;
    assert.equal(action.name, 'wsgate.action');
    assert.equal(action.traceId, traceId, 'the backend got the exported trace id');
    assert.equal(action.kind, 3, 'SPAN_KIND_CLIENT');
    assert.equal(action.attributeMap['wsgate.action.type'], 'order.create');
    assert.equal(action.resource['service.name'], 'wsgate-under-test');
    assert.equal(action.resource['deployment.environment.name'], 'test');
    assert.equal(action.resource['service.version'], (await import('../../package.json', { with: { type: 'json' } })).default.version);

    await waitFor(() => receiver.spans.some((span) => span.name === 'POST /api/tickets') && receiver.spans.some((span) => span.name === 'wsgate.handshake'), 10_000, 'the API and handshake spans');
    const minting = receiver.spans.find((span) => span.name === 'POST /api/tickets')!;
    assert.equal(minting.traceId, '5bf92f3577b34da6a3ce929d0e0e4736', 'a server-API call continues the caller\'s trace');
    assert.equal(minting.parentSpanId, '10f067aa0ba902b7');
    assert.equal(minting.kind, 2, 'SPAN_KIND_SERVER');
    assert.ok(receiver.contentTypes.every((type) => type.startsWith('application/json')), receiver.contentTypes.join());
    const exported = JSON.stringify(receiver.spans);
    for (const secret of [API_KEY, ...tickets]) assert.ok(!exported.includes(secret), `${secret} is in no span`);
  });

  test('without OTEL_* variables a node propagates nothing and exports nothing', async () => {
    const node = await startNode(config('untraced'), 15_000, { env: {} });
    nodes.push(node);
    const exportedBefore = receiver.spans.length;
    const bob = await session(node, 'bob');
    await bob.request({ type: 'order.create', payload: {} });
    assert.equal(backend.calls.at(-1)!.traceparent, undefined);
    assert.doesNotMatch(node.output(), /tracing on/);
    assert.equal(receiver.spans.length, exportedBefore);
  });
});

test('the exporters the standard variables ask for', () => {
  assert.deepEqual(requestedExporters({}), []);
  assert.deepEqual(requestedExporters({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), ['otlp']);
  assert.deepEqual(requestedExporters({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), ['otlp']);
  assert.deepEqual(requestedExporters({ OTEL_TRACES_EXPORTER: 'otlp, console' }), ['otlp', 'console']);
  assert.deepEqual(requestedExporters({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), []);
  assert.deepEqual(requestedExporters({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }), []);
});
