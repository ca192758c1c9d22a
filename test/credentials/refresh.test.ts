/**
 * In-band refresh of the session's credential: `refresh_required` before the deadline, `refresh {token}` with a JWT
 * or a ticket of the same user, 4004 at the deadline without one; ticket sessions that expire; a backend moving the
 * deadline through the server API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { signToken } from '../../src/server/auth/token-verifier.js';
import { connect, type TestClient } from '../helpers/client.js';
import { API_KEY, JWT_SECRET, mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';

const secret = new TextEncoder().encode(JWT_SECRET);

/** A JWT expiring `ttlMs` from now (exp has whole seconds: the deadline is rounded down, never up). */
function tokenFor(user: string, ttlMs: number, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(user)
    .setExpirationTime(Math.floor((Date.now() + ttlMs) / 1000)).sign(secret);
}

async function api(running: RunningGateway, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${running.httpUrl}${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('in-band refresh', () => {
  let gw: RunningGateway;
  const clients: TestClient[] = [];
  before(async () => {
    gw = await startGateway({ auth: { anonymous: false, refresh: { leadSeconds: 30 } }, namespaces: { vip: { private: true, allow: ['vip:{claims.tier}'] } } });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await gw.stop();
  });
  const track = (client: TestClient) => (clients.push(client), client);

  test('refresh_required comes halfway to a near deadline; a new JWT of the same user extends the session and its claims', async () => {
    const started = Date.now();
    const client = track(await connect(gw.wsUrl, { token: await tokenFor('alice', 3_000, { tier: 'silver' }) }));
    const expiresIn = client.welcome!.expiresIn as number;
    assert.ok(expiresIn > 1_000 && expiresIn <= 3_000, `welcome says expiresIn ${expiresIn}`);
    assert.equal((await client.request({ type: 'subscribe', channel: 'vip:gold' })).code, 'CHANNEL_FORBIDDEN');
    const required = await client.seen('refresh_required', () => true, 4_000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= expiresIn / 2 - 100, `refresh_required after ${elapsed} ms, not before half of ${expiresIn}`);
    assert.ok((required.expiresIn as number) <= expiresIn / 2 + 50 && (required.expiresIn as number) > 0);
    assert.equal(required.channel, undefined);

    const refreshed = await client.request({ type: 'refresh', token: await tokenFor('alice', 60_000, { tier: 'gold' }) });
    assert.equal(refreshed.type, 'refreshed');
    assert.ok((refreshed.expiresIn as number) > 50_000);
    // The old deadline passes without a close, and the new claims are the session's.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + expiresIn + 300 - Date.now())));
    assert.equal(client.count('disconnect'), 0);
    assert.equal((await client.request({ type: 'subscribe', channel: 'vip:gold' })).type, 'subscribed');
  });

  test('bad, expired and wrong-user tokens get an error and change nothing: the session still closes with 4004 at its deadline', async () => {
    const client = track(await connect(gw.wsUrl, { token: await tokenFor('bob', 4_000) }));
    await client.seen('refresh_required', () => true, 5_000);
    const wrongUser = await client.request({ type: 'refresh', token: await tokenFor('mallory', 60_000) });
    assert.equal(wrongUser.code, 'TOKEN_INVALID');
    assert.match(String(wrongUser.message), /another user/);
    assert.equal((await client.request({ type: 'refresh', token: await signToken('another-secret-000000000', 'bob', {}, 60) })).code, 'TOKEN_INVALID');
    assert.equal((await client.request({ type: 'refresh', token: 'not.a.jwt' })).code, 'TOKEN_INVALID');
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').setExpirationTime(Math.floor(Date.now() / 1000) - 5).sign(secret);
    assert.equal((await client.request({ type: 'refresh', token: expired })).code, 'TOKEN_EXPIRED');
    assert.equal((await client.request({ type: 'refresh' })).code, 'BAD_REQUEST');
    const disconnect = await client.seen('disconnect', () => true, 4_000);
    assert.equal(disconnect.code, 4004);
    assert.equal(disconnect.reconnect, true);
    assert.equal((await client.closed).code, 4004);
  });

  test('a ticket refreshes too; a replayed ticket is refused', async () => {
    const client = track(await connect(gw.wsUrl, { token: await tokenFor('carol', 60_000) }));
    const ticket = await mintTicket(gw, 'carol', { org: 'acme' });
    const refreshed = await client.request({ type: 'refresh', token: ticket });
    assert.equal(refreshed.type, 'refreshed');
    assert.equal(refreshed.expiresIn, null, 'a ticket without a session lifetime lifts the deadline');
    assert.equal((await client.request({ type: 'refresh', token: ticket })).code, 'TICKET_INVALID');
    const otherUser = await mintTicket(gw, 'dave');
    assert.equal((await client.request({ type: 'refresh', token: otherUser })).code, 'TOKEN_INVALID');
    assert.equal((await client.request({ type: 'subscribe', channel: 'org:acme' })).type, 'subscribed', "the ticket's claims are in force");
  });

  test('ticket sessions expire after the lifetime the mint names, and refresh like any other', async () => {
    const response = await api(gw, '/api/tickets', { user: 'erin', sessionTtlSeconds: 2 });
    const client = track(await connect(gw.wsUrl, { ticket: response.body.ticket as string }));
    const expiresIn = client.welcome!.expiresIn as number;
    assert.ok(expiresIn > 1_800 && expiresIn <= 2_000, `expiresIn ${expiresIn}`);
    await client.seen('refresh_required', () => true, 3_000);
    const next = await api(gw, '/api/tickets', { user: 'erin', sessionTtlSeconds: 600 });
    const refreshed = await client.request({ type: 'refresh', token: next.body.ticket as string });
    assert.ok((refreshed.expiresIn as number) > 590_000);
  });

  test('a backend extends, cuts and lifts deadlines through the server API, on one session or all of a user', async () => {
    const first = track(await connect(gw.wsUrl, { token: await tokenFor('frank', 60_000) }));
    const second = track(await connect(gw.wsUrl, { token: await tokenFor('frank', 60_000) }));
    const session = first.welcome!.session as string;

    const cut = await api(gw, `/api/sessions/${session}/refresh`, { ttlSeconds: 2 });
    assert.deepEqual(cut, { status: 200, body: { sessions: 1 } });
    const required = await first.seen('refresh_required', () => true, 2_000);
    assert.ok((required.expiresIn as number) <= 1_000, 'a cut to 2 s asks for the refresh within a second');
    const lifted = await api(gw, '/api/users/frank/refresh', { ttlSeconds: null });
    assert.deepEqual(lifted.body, { sessions: 2 });
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    assert.equal(first.count('disconnect'), 0, 'lifted before the cut deadline');

    await api(gw, '/api/users/frank/refresh', { ttlSeconds: 0 });
    for (const client of [first, second]) {
      const disconnect = await client.seen('disconnect', () => true, 2_000);
      assert.equal(disconnect.code, 4004);
    }

    assert.equal((await api(gw, '/api/sessions/no-such-session/refresh', { ttlSeconds: 5 })).body.code, 'SESSION_NOT_FOUND');
    assert.equal((await api(gw, `/api/sessions/${session}/refresh`, { ttlSeconds: -1 })).body.code, 'BODY_INVALID');
    assert.equal((await api(gw, `/api/sessions/${session}/refresh`, {})).body.code, 'BODY_INVALID');
  });

  test('refreshes are counted by target and result', async () => {
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    assert.match(metrics, /wsgate_refreshes_total\{target="session",result="ok"\} [1-9]/);
    assert.match(metrics, /wsgate_refreshes_total\{target="session",result="TOKEN_INVALID"\} [1-9]/);
    assert.match(metrics, /wsgate_refreshes_total\{target="session",result="TICKET_INVALID"\} 1/);
  });
});

describe('the configured session lifetime of tickets', () => {
  test('applies to tickets that name none; 0 in the mint opts out', async () => {
    const gw = await startGateway({ auth: { tickets: { sessionTtlSeconds: 120 } } });
    try {
      const client = await connect(gw.wsUrl, { ticket: await mintTicket(gw, 'gina') });
      assert.ok((client.welcome!.expiresIn as number) > 110_000 && (client.welcome!.expiresIn as number) <= 120_000);
      const response = await api(gw, '/api/tickets', { user: 'gina', sessionTtlSeconds: 0 });
      const forever = await connect(gw.wsUrl, { ticket: response.body.ticket as string });
      assert.equal(forever.welcome!.expiresIn, undefined);
      await Promise.all([client.close(), forever.close()]);
    } finally {
      await gw.stop();
    }
  });
});
