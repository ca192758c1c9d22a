/**
 * Revocation on one node: a revoked user's sessions close with 4503 and nothing of theirs opens or refreshes until the
 * revocation lapses or is lifted; revoked token ids likewise. The cross-node case is test/cluster/revocation.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { MemoryCluster, MemoryEngine } from '../../src/server/engine/memory.js';
import { MemoryRevocationStore } from '../../src/server/engine/revocations/memory.js';
import type { FoundRevocation, RevocationTarget } from '../../src/server/engine/revocations/revocations.js';
import { connect, HandshakeRefused, open, type TestClient } from '../helpers/client.js';
import { signToken } from '../../src/server/auth/token-verifier.js';
import { API_KEY, COOKIE_SECRET, JWT_SECRET, mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { TestClock } from '../support/clock.js';

const secret = new TextEncoder().encode(JWT_SECRET);
const token = (user: string, jti?: string) => {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime('10m');
  return (jti ? jwt.setJti(jti) : jwt).sign(secret);
};

async function api(running: RunningGateway, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${running.httpUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function refusal(attempt: Promise<TestClient>): Promise<HandshakeRefused> {
  const error = await attempt.then(() => assert.fail('the handshake should be refused'), (e: unknown) => e);
  assert.ok(error instanceof HandshakeRefused, String(error));
  return error;
}

/** The memory store, with a way to run something right after the next lookup answered (to force a race). */
class RacingRevocations extends MemoryRevocationStore {
  afterNextFind?: () => Promise<void>;
  override async find(targets: readonly RevocationTarget[]): Promise<FoundRevocation | null> {
    const found = await super.find(targets);
    const hook = this.afterNextFind;
    this.afterNextFind = undefined;
    if (hook) await hook();
    return found;
  }
}
class RacingCluster extends MemoryCluster {
  override readonly revocations = new RacingRevocations({ clock: this.clock });
}

describe('revocation', () => {
  let gw: RunningGateway;
  // The cluster's stores run on a clock the tests move, so revocations lapse without waiting.
  const clock = new TestClock();
  const cluster = new RacingCluster({ clock: clock.now });
  const clients: TestClient[] = [];
  before(async () => {
    gw = await startGateway({}, { engine: new MemoryEngine(cluster) });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await gw.stop();
  });
  const track = (client: TestClient) => (clients.push(client), client);

  test('a revoked user: every session closed with 4503 and the reason; handshakes and refreshes refused until it lapses', async () => {
    const sessions = [track(await connect(gw.wsUrl, { token: await token('alice') })), track(await connect(gw.wsUrl, { ticket: await mintTicket(gw, 'alice') }))];
    const bystander = track(await connect(gw.wsUrl, { token: await token('bob') }));
    const until = new Date(Date.now() + 1_500).toISOString();
    const revoked = await api(gw, '/api/users/alice/revoke', { until, reason: 'account suspended' });
    assert.deepEqual(revoked, { status: 200, body: { user: 'alice', until, sessions: 2 } });
    for (const client of sessions) {
      const disconnect = await client.seen('disconnect');
      assert.deepEqual([disconnect.code, disconnect.reconnect, disconnect.reason], [4503, false, 'account suspended']);
      assert.equal((await client.closed).code, 4503);
    }
    assert.equal(bystander.count('disconnect'), 0);

    const byToken = await refusal(open(gw.wsUrl, { token: await token('alice') }));
    assert.deepEqual([byToken.status, byToken.code], [403, 'CREDENTIAL_REVOKED']);
    assert.match(byToken.body, /account suspended/);
    assert.equal((await refusal(open(gw.wsUrl, { ticket: await mintTicket(gw, 'alice') }))).code, 'CREDENTIAL_REVOKED');
    const cookie = await signToken(COOKIE_SECRET, 'alice', {}, 600);
    const ticketFromCookie = await fetch(`${gw.httpUrl}/auth/ticket`, { method: 'POST', headers: { cookie: `wsgate_session=${cookie}` } });
    assert.deepEqual([ticketFromCookie.status, ((await ticketFromCookie.json()) as { code: string }).code], [403, 'CREDENTIAL_REVOKED'], 'nor does the cookie mint tickets');

    // Lapses by itself.
    await clock.elapse(Math.max(0, Date.parse(until) - Date.now()));
    track(await connect(gw.wsUrl, { token: await token('alice') }));
  });

  test('a revoked token id: its sessions close, other tokens of the user keep working, and it cannot refresh a session', async () => {
    const leaked = track(await connect(gw.wsUrl, { token: await token('carol', 'jti-leaked') }));
    const other = track(await connect(gw.wsUrl, { token: await token('carol', 'jti-fine') }));
    const revoked = await api(gw, '/api/tokens/jti-leaked/revoke', { reason: 'token leaked' });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.jti, 'jti-leaked');
    assert.ok(Date.parse(revoked.body.until as string) > Date.now() + 86_000_000, 'default: auth.revocation.defaultSeconds');
    const disconnect = await leaked.seen('disconnect');
    assert.equal(disconnect.code, 4503);
    assert.equal(other.count('disconnect'), 0);
    assert.equal((await refusal(open(gw.wsUrl, { token: await token('carol', 'jti-leaked') }))).code, 'CREDENTIAL_REVOKED');
    assert.equal((await other.request({ type: 'refresh', token: await token('carol', 'jti-leaked') })).code, 'CREDENTIAL_REVOKED');
    assert.equal((await other.request({ type: 'refresh', token: await token('carol', 'jti-new') })).type, 'refreshed');
  });

  test('a refresh of a user revoked meanwhile is refused; lifting lets the user back at once', async () => {
    const dave = track(await connect(gw.wsUrl, { token: await token('dave') }));
    // Revoked in the store only (as another deployment's tooling might): the live session is not closed by this.
    await cluster.revocations.revoke({ kind: 'user', id: 'dave' }, { until: Date.now() + 60_000, reason: 'banned', revokedAt: Date.now() });
    const refused = await dave.request({ type: 'refresh', token: await token('dave') });
    assert.equal(refused.code, 'CREDENTIAL_REVOKED');
    assert.equal(dave.count('disconnect'), 0, 'a refused refresh leaves the session as it was');
    assert.deepEqual((await api(gw, '/api/revocations/remove', { user: 'dave' })).body, { removed: true });
    assert.deepEqual((await api(gw, '/api/revocations/remove', { user: 'dave' })).body, { removed: false });
    assert.deepEqual((await api(gw, '/api/revocations/remove', { jti: 'never-revoked' })).body, { removed: false });
    assert.equal((await dave.request({ type: 'refresh', token: await token('dave') })).type, 'refreshed');
  });

  test('a revocation written while a handshake is past its own check still closes that session, before its welcome', async () => {
    cluster.revocations.afterNextFind = async () => {
      await api(gw, '/api/users/erin/revoke', { reason: 'raced' });
    };
    const client = track(await open(gw.wsUrl, { ticket: await mintTicket(gw, 'erin') }));
    const disconnect = await client.seen('disconnect');
    assert.equal(disconnect.code, 4503);
    assert.match(String(disconnect.reason), /^the user is revoked until .*: raced$/);
    assert.equal(client.count('welcome'), 0);
  });

  test('bad revocations are refused and change nothing', async () => {
    assert.equal((await api(gw, '/api/users/frank/revoke', { until: new Date(Date.now() - 1_000).toISOString() })).body.code, 'BODY_INVALID');
    assert.equal((await api(gw, '/api/users/frank/revoke', { until: 'tomorrow' })).body.code, 'BODY_INVALID');
    assert.equal((await api(gw, '/api/users/frank/revoke', { reason: '' })).body.code, 'BODY_INVALID');
    assert.equal((await api(gw, '/api/users/frank/revoke', { extra: 1 })).body.code, 'BODY_INVALID');
    assert.equal((await api(gw, '/api/users/bad%20user/revoke')).body.code, 'USER_INVALID');
    assert.equal((await api(gw, '/api/revocations/remove', { user: 'frank', jti: 'x' })).body.code, 'BODY_INVALID');
    track(await connect(gw.wsUrl, { token: await token('frank') }));
  });
});
