/**
 * The connect hook: a handshake without a ticket or token is admitted by a backend that sees its cookies, the chosen
 * headers and the client address. It answers who the session is (claims, session policy, lifetime, channels to join)
 * or refuses with a reason (4503); a backend that is down, slow or confused refuses with 1013 and never admits.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect, open, type TestClient } from '../helpers/client.js';
import { API_KEY, mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { freePort } from '../support/ports.js';

interface HookCall {
  cookies: Record<string, string>;
  headers: Record<string, string>;
  ip: string;
  node: string;
}

/** The application's session backend: answers each call with what the test sets. */
class SessionBackend {
  calls: Array<{ body: HookCall; authorization?: string }> = [];
  answer: (call: HookCall) => { status: number; body?: unknown; delayMs?: number } = () => ({ status: 403 });
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        const body = JSON.parse(text) as HookCall;
        this.calls.push({ body, authorization: request.headers.authorization });
        const { status, body: answer, delayMs = 0 } = this.answer(body);
        setTimeout(() => {
          if (response.destroyed) return;
          response.writeHead(status, { 'content-type': 'application/json' }).end(answer === undefined ? '' : JSON.stringify(answer));
        }, delayMs).unref();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/wsgate/connect`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('connect hook', () => {
  const backend = new SessionBackend();
  let gw: RunningGateway;
  const clients: TestClient[] = [];
  before(async () => {
    await backend.start();
    gw = await startGateway({
      auth: { anonymous: false, connectHook: { url: backend.url, apiKey: 'hook-key', headers: ['X-Tenant', 'user-agent'], timeoutMs: 1_500 } },
      namespaces: { team: { private: true, presence: true } },
    });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await gw.stop();
    await backend.stop();
  });
  const track = (client: TestClient) => (clients.push(client), client);

  test('admits the user the backend names, with its claims, lifetime and channels; sees cookies, chosen headers and address', async () => {
    backend.answer = (call) => ({
      status: 200,
      body: { user: call.cookies.sid === 's3cret' ? 'alice' : null, claims: { org: 'acme' }, ttlSeconds: 1, channels: ['team:red', 'org:acme'] },
      delayMs: 100,
    });
    const client = track(await open(gw.wsUrl, { headers: { cookie: 'sid=s3cret; theme=dark', 'x-tenant': 'acme', 'x-other': 'hidden' } }));
    // A frame sent before the backend answered waits for the session, it is not lost.
    client.send({ type: 'subscribe', id: 'early', channel: 'org:acme/board' });
    const welcome = await client.seen('welcome');
    assert.equal(welcome.user, 'alice');
    assert.ok((welcome.expiresIn as number) <= 1_000);
    assert.equal((await client.seen('subscribed', (frame) => frame.id === 'early')).channel, 'org:acme/board', 'claims from the backend are in force');
    const joined = await Promise.all(['team:red', 'org:acme'].map((channel) => client.seen('subscribed', (frame) => frame.channel === channel && frame.id === undefined)));
    assert.equal(joined.length, 2, 'joined the channels the backend named, private ones included');
    await client.seen('refresh_required', () => true, 2_000);

    const call = backend.calls.at(-1)!;
    assert.equal(call.authorization, 'Bearer hook-key');
    assert.deepEqual(call.body.cookies, { sid: 's3cret', theme: 'dark' });
    // Only the chosen headers, and only those the handshake had (ws sends no user-agent).
    assert.deepEqual(call.body.headers, { 'x-tenant': 'acme' });
    assert.equal(call.body.ip, '127.0.0.1');
    assert.equal(call.body.node, gw.gateway.nodeId);
  });

  test('the session policy the backend gives holds', async () => {
    backend.answer = () => ({ status: 200, body: { user: 'bob', sessionPolicy: { max: 1, onLimit: 'reject-new' } } });
    const first = track(await connect(gw.wsUrl));
    const second = track(await open(gw.wsUrl));
    assert.equal((await second.seen('disconnect')).code, 4502);
    assert.equal(first.count('disconnect'), 0);
  });

  test('a refusal closes with 4503 and the backend\'s reason, before any welcome', async () => {
    backend.answer = () => ({ status: 403, body: { reason: 'please sign in again' } });
    const client = track(await open(gw.wsUrl, { headers: { cookie: 'sid=expired' } }));
    const disconnect = await client.seen('disconnect');
    assert.deepEqual([disconnect.code, disconnect.reconnect, disconnect.reason], [4503, false, 'please sign in again']);
    assert.deepEqual(await client.closed, { code: 4503, reason: 'please sign in again' });
    assert.equal(client.count('welcome'), 0);
  });

  for (const [what, answer] of [
    ['answers 500', () => ({ status: 500, body: { error: 'oops' } })],
    ['is slower than its timeout', () => ({ status: 200, body: { user: 'carol' }, delayMs: 5_000 })],
    ['answers something that does not fit', () => ({ status: 200, body: { user: 42 } })],
  ] as const) {
    test(`a backend that ${what} refuses with 1013: try again later, never admitted`, async () => {
      backend.answer = answer;
      const client = track(await open(gw.wsUrl));
      const disconnect = await client.seen('disconnect', () => true, 4_000);
      assert.deepEqual([disconnect.code, disconnect.reconnect], [1013, true]);
      assert.equal((await client.closed).code, 1013);
      assert.equal(client.count('welcome'), 0);
    });
  }

  test('a backend that is down refuses with 1013', async () => {
    const down = await startGateway({ auth: { anonymous: false, connectHook: { url: `http://127.0.0.1:${await freePort()}/connect`, timeoutMs: 500 } } });
    try {
      const client = await open(down.wsUrl);
      const disconnect = await client.seen('disconnect');
      assert.deepEqual([disconnect.code, disconnect.reconnect], [1013, true]);
      assert.match(String(disconnect.reason), /unreachable/);
    } finally {
      await down.stop();
    }
  });

  test('a ticket or token skips the hook; a revoked user the hook names is refused with 4503', async () => {
    const calls = backend.calls.length;
    const client = track(await connect(gw.wsUrl, { ticket: await mintTicket(gw, 'dave') }));
    assert.equal(client.welcome!.user, 'dave');
    assert.equal(backend.calls.length, calls, 'the hook was not asked');

    await fetch(`${gw.httpUrl}/api/users/erin/revoke`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
    backend.answer = () => ({ status: 200, body: { user: 'erin' } });
    const revoked = track(await open(gw.wsUrl));
    assert.equal((await revoked.seen('disconnect')).code, 4503);
  });

  test('latency is observed per outcome', async () => {
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    for (const outcome of ['admitted', 'refused', 'unavailable']) {
      assert.match(metrics, new RegExp(`wsgate_connect_hook_seconds_count\\{outcome="${outcome}"\\} [1-9]`), outcome);
    }
    assert.match(metrics, /wsgate_handshake_failures_total\{reason="CONNECT_BACKEND_UNAVAILABLE"\} [1-9]/);
  });
});
