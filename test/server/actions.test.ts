import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectAs } from '../helpers/client.js';
import { waitFor } from '../support/wait.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { api } from '../api/api-client.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { uniquePrefix } from '../support/prefix.js';

/** A real backend over HTTP that owns the `order.*` actions. */
function startBackend(): Promise<{ server: Server; url: string; calls: Array<{ body: Record<string, unknown>; headers: IncomingMessage['headers'] }> }> {
  const calls: Array<{ body: Record<string, unknown>; headers: IncomingMessage['headers'] }> = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text) as { type: string; payload: Record<string, unknown> };
      calls.push({ body, headers: request.headers });
      switch (body.type) {
        case 'order.create':
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payload: { orderId: 17, sku: body.payload.sku } }));
          return;
        case 'order.track':
          response.writeHead(204).end();
          return;
        case 'order.fail':
          response.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'sku is sold out' }));
          return;
        case 'order.slow':
          setTimeout(() => response.writeHead(200).end('{}'), 1_000);
          return;
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/actions`, calls });
  }));
}

describe('application actions', () => {
  let gw: RunningGateway;
  let backend: Awaited<ReturnType<typeof startBackend>>;
  before(async () => {
    backend = await startBackend();
    gw = await startGateway({
      actions: {
        routes: [
          { match: 'order.slow', url: backend.url, timeoutMs: 200 },
          { match: 'order.*', url: backend.url, apiKey: 'backend-key-0123456789' },
          { match: 'billing.*', url: 'http://127.0.0.1:1/unreachable' },
        ],
      },
    });
  });
  after(async () => {
    await gw.stop();
    backend.server.closeAllConnections();
    backend.server.close();
  });

  test('go to the backend that owns the type, with the session context, and its answer comes back as reply', async () => {
    const alice = await connectAs(gw, 'alice', { org: 'acme' });
    const reply = await alice.request({ type: 'order.create', payload: { sku: 'A-1' } });
    assert.deepEqual(reply, { type: 'reply', id: reply.id, payload: { orderId: 17, sku: 'A-1' } });
    const call = backend.calls.find((c) => c.body.type === 'order.create')!;
    assert.deepEqual(call.body.context, { user: 'alice', session: alice.welcome!.session, node: alice.welcome!.node, claims: { org: 'acme' } });
    assert.equal(call.body.id, reply.id);
    assert.equal(call.headers.authorization, 'Bearer backend-key-0123456789');
    await alice.close();
  });

  test('a 204 answers a request with a null payload; an action without id gets nothing back', async () => {
    const bob = await connectAs(gw, 'bob');
    assert.deepEqual((await bob.request({ type: 'order.track', payload: {} })).payload, null);
    bob.send({ type: 'order.create', payload: { sku: 'B' } });
    await waitFor(() => backend.calls.filter((c) => c.body.type === 'order.create' && c.body.id === undefined).length === 1);
    const marker = await bob.request({ type: 'order.track' });
    assert.equal(marker.type, 'reply');
    assert.equal(bob.frames.filter((f) => f.type === 'reply').length, 2, 'no reply for the fire-and-forget action');
    await bob.close();
  });

  test('backend failures become error frames with stable codes', async () => {
    const carol = await connectAs(gw, 'carol');
    const failed = await carol.request({ type: 'order.fail' });
    assert.equal(failed.code, 'BACKEND_ERROR');
    assert.equal(failed.message, 'sku is sold out');
    assert.equal((await carol.request({ type: 'order.slow' })).code, 'BACKEND_TIMEOUT');
    assert.equal((await carol.request({ type: 'billing.charge' })).code, 'BACKEND_ERROR');
    assert.equal((await carol.request({ type: 'shipping.quote' })).code, 'NO_ROUTE');
    await carol.close();
  });
});

describe('action routes registered at run time', () => {
  test('a backend registers on one node, every node routes to it, and removing it ends that', async () => {
    const backend = await startBackend();
    const engine = { kind: 'redis' as const, redisUrls: [SHARED_REDIS_URL], prefix: uniquePrefix('routes') };
    const [a, b] = [await startGateway({ engine }), await startGateway({ engine })];
    try {
      const client = await connectAs(b, 'dora');
      assert.equal((await client.request({ type: 'order.create', payload: { sku: 'R' } })).code, 'NO_ROUTE');

      const registered = await api(a, 'POST', '/api/actions/routes', { match: 'order.*', url: backend.url, apiKey: 'registered-key', ttlSeconds: 30 });
      assert.equal(registered.status, 200);
      assert.equal(registered.body.match, 'order.*');
      const listing = await api(b, 'GET', '/api/actions/routes');
      assert.deepEqual(listing.body.registered.map((r: { match: string; url: string }) => [r.match, r.url]), [['order.*', backend.url]]);
      assert.equal(JSON.stringify(listing.body).includes('registered-key'), false, 'the backend key is never shown');

      // Node b reads registrations at most a second late.
      let reply = await client.request({ type: 'order.create', payload: { sku: 'R' } });
      await waitFor(async () => {
        if (reply.type === 'reply') return true;
        reply = await client.request({ type: 'order.create', payload: { sku: 'R' } });
        return false;
      }, 3_000, 'node b to route order.* to the registered backend');
      assert.deepEqual(reply.payload, { orderId: 17, sku: 'R' });
      assert.equal(backend.calls.at(-1)!.headers.authorization, 'Bearer registered-key');

      assert.deepEqual((await api(b, 'POST', '/api/actions/routes/remove', { match: 'order.*', url: backend.url })).body, { removed: true });
      await waitFor(async () => (await client.request({ type: 'order.create' })).code === 'NO_ROUTE', 3_000, 'the route to be gone on node b');
      assert.equal((await api(a, 'POST', '/api/actions/routes', { match: 'bad pattern!', url: backend.url })).body.code, 'BODY_INVALID');
      assert.equal((await api(a, 'POST', '/api/actions/routes', { match: 'x.*', url: 'ftp://nope' })).body.code, 'BODY_INVALID');
      await client.close();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      backend.server.closeAllConnections();
      backend.server.close();
    }
  });
});

describe('channel access decided by a backend', () => {
  test('the namespace\'s authorize backend grants or denies what no allow pattern does, and its answers are remembered', async () => {
    const decisions: Array<Record<string, unknown>> = [];
    const authz = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        const call = JSON.parse(text) as { channel: string; user: string | null; action: string };
        decisions.push({ ...call, authorization: request.headers.authorization });
        if (call.channel === 'team:down') response.writeHead(500).end();
        else if (call.channel === 'team:slow') setTimeout(() => response.writeHead(204).end(), 1_000);
        else if (call.user === 'ann' && call.channel === 'team:red') response.writeHead(204).end();
        else if (call.user === 'ann' && call.channel === 'team:blue') response.writeHead(200, { 'content-type': 'application/json' }).end('{"allow":true}');
        else response.writeHead(403).end();
      });
    });
    await new Promise<void>((resolve) => authz.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(authz.address() as AddressInfo).port}/authorize`;
    const gw = await startGateway({
      namespaces: {
        team: { private: true, allow: ['team:{claims.team}'], presence: true, publish: true, authorize: { url, apiKey: 'authz-key-0123456789', timeoutMs: 300, cacheSeconds: 60 } },
      },
    });
    try {
      const ann = await connectAs(gw, 'ann', { team: 'green' });
      const bob = await connectAs(gw, 'bob');
      const anon = await connectAs(gw, null);
      await ann.subscribe('team:green');
      assert.equal(decisions.length, 0, 'an allow pattern decides without asking');
      await ann.subscribe('team:red');
      await ann.subscribe('team:blue');
      assert.equal((await bob.request({ type: 'subscribe', channel: 'team:red' })).code, 'CHANNEL_FORBIDDEN');
      assert.equal((await anon.request({ type: 'subscribe', channel: 'team:red' })).code, 'CHANNEL_FORBIDDEN', 'never anonymous in a private namespace');
      assert.deepEqual(decisions.map((d) => [d.user, d.channel, d.action]), [['ann', 'team:red', 'subscribe'], ['ann', 'team:blue', 'subscribe'], ['bob', 'team:red', 'subscribe']]);
      assert.equal(decisions[0]!.authorization, 'Bearer authz-key-0123456789');

      for (let i = 0; i < 3; i++) assert.equal((await ann.request({ type: 'publish', channel: 'team:red', data: i })).type, 'published');
      assert.equal(decisions.filter((d) => d.action === 'publish').length, 1, 'the publish decision is remembered');
      assert.equal((await ann.request({ type: 'subscribe', channel: 'team:down' })).code, 'BACKEND_ERROR', 'fails closed');
      assert.equal((await ann.request({ type: 'subscribe', channel: 'team:slow' })).code, 'BACKEND_TIMEOUT');
      for (const client of [ann, bob, anon]) await client.close();
    } finally {
      await gw.stop();
      authz.closeAllConnections();
      authz.close();
    }
  });
});
