import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { signToken } from '../../src/server/auth/token-verifier.js';
import { createLogger } from '../../src/server/observability/logger.js';
import { connectAs, HandshakeRefused, open } from '../helpers/client.js';
import { API_KEY, COOKIE_SECRET, mintTicket, startGateway } from '../helpers/gateway.js';
import { startRedis } from '../support/servers.js';
import { uniquePrefix } from '../support/prefix.js';
import { waitFor } from '../support/wait.js';

/** Every route (and the ticket handshake) whose answer needs the shared store, as a backend or browser calls it. */
const ENGINE_CALLS: Array<{ method: 'GET' | 'POST'; path: string; body?: unknown; headers?: Record<string, string> }> = [
  { method: 'GET', path: '/api/users/alice' },
  { method: 'POST', path: '/api/tickets', body: { user: 'bob' } },
  { method: 'GET', path: '/api/channels/chat%3Aroom' },
  { method: 'GET', path: '/api/channels/chat%3Aroom/presence' },
  { method: 'GET', path: '/api/channels/chat%3Aroom/history' },
  { method: 'POST', path: '/api/channels/chat%3Aroom/subscribe', body: { user: 'alice' } },
  { method: 'POST', path: '/api/channels/chat%3Aroom/unsubscribe', body: { session: 'no-such-session' } },
  { method: 'POST', path: '/api/users/alice/disconnect' },
  { method: 'POST', path: '/api/sessions/no-such-session/disconnect' },
  { method: 'POST', path: '/api/sessions/no-such-session/send', body: { type: 'PING' } },
  { method: 'POST', path: '/api/publish', body: { channel: 'chat:room', data: 1 }, headers: { 'idempotency-key': 'once' } },
  { method: 'GET', path: '/api/actions/routes' },
  { method: 'POST', path: '/api/actions/routes', body: { match: 'order.*', url: 'http://orders.internal/actions' } },
  { method: 'POST', path: '/api/actions/routes/remove', body: { match: 'order.*', url: 'http://orders.internal/actions' } },
];

test('with Redis down every engine-dependent path answers 503 ENGINE_UNAVAILABLE and logs no error', async () => {
  const redis = await startRedis();
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({ write(chunk, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string }); done(); } });
  const gw = await startGateway(
    { auth: { devLogin: true }, engine: { kind: 'redis', redisUrls: [redis.url], prefix: uniquePrefix('engine-down'), leaseMs: 2_000 } },
    { logger: createLogger('info', sink) },
  );
  try {
    const alice = await connectAs(gw, 'alice');
    await alice.subscribe('chat:room');
    const ticket = await mintTicket(gw, 'carol');
    const cookie = await signToken(COOKIE_SECRET, 'dave', {}, 60);

    await redis.stop();
    await waitFor(async () => (await fetch(`${gw.httpUrl}/readyz`)).status === 503, 5_000, 'readyz to report the engine down');
    const loggedBefore = lines.length;

    for (const call of ENGINE_CALLS) {
      const response = await fetch(`${gw.httpUrl}${call.path}`, {
        method: call.method,
        headers: { authorization: `Bearer ${API_KEY}`, ...(call.body ? { 'content-type': 'application/json' } : {}), ...call.headers },
        ...(call.body ? { body: JSON.stringify(call.body) } : {}),
      });
      const body = (await response.json()) as { code: string };
      assert.deepEqual([response.status, body.code], [503, 'ENGINE_UNAVAILABLE'], `${call.method} ${call.path}`);
    }

    const batch = await fetch(`${gw.httpUrl}/api/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ method: 'GET', path: '/api/users/alice' }] }),
    });
    const { responses } = (await batch.json()) as { responses: Array<{ status: number; body: { code: string } }> };
    assert.deepEqual([responses[0]!.status, responses[0]!.body.code], [503, 'ENGINE_UNAVAILABLE'], 'a batch item');

    const browserTicket = await fetch(`${gw.httpUrl}/auth/ticket`, { method: 'POST', headers: { cookie: `wsgate_session=${cookie}`, origin: 'http://app.example' } });
    assert.equal(browserTicket.status, 503, 'POST /auth/ticket');
    assert.equal(((await browserTicket.json()) as { code: string }).code, 'ENGINE_UNAVAILABLE');

    const refused = await open(gw.wsUrl, { ticket }).then(() => assert.fail('the handshake should be refused'), (error: unknown) => error);
    assert.ok(refused instanceof HandshakeRefused, String(refused));
    assert.deepEqual([refused.status, refused.code], [503, 'ENGINE_UNAVAILABLE'], 'a ?ticket= handshake');

    // The WebSocket side answers the same way (and already did).
    assert.equal((await alice.request({ type: 'presence', channel: 'chat:room' })).code, 'ENGINE_UNAVAILABLE');

    const errors = lines.slice(loggedBefore).filter((line) => line.level >= 50);
    assert.deepEqual(errors, [], 'an outage is not an error per request');
    await alice.close();
  } finally {
    await gw.stop();
    await redis.stop();
  }
});
