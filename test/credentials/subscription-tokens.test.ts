/**
 * Subscription tokens: a short-lived JWT naming a channel (or a pattern) and the actions it permits grants a private
 * channel without a backend call; its own expiry drops the subscription unless refreshed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { connect, type TestClient } from '../helpers/client.js';
import { API_KEY, JWT_SECRET, mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { waitFor } from '../support/wait.js';

const secret = new TextEncoder().encode(JWT_SECRET);

interface GrantClaims {
  channel?: string;
  actions?: string[];
  jti?: string;
}

function subscriptionToken(user: string | null, claims: GrantClaims, ttlMs = 60_000): Promise<string> {
  const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor((Date.now() + ttlMs) / 1000));
  return (user === null ? jwt : jwt.setSubject(user)).sign(secret);
}

describe('subscription tokens', () => {
  let gw: RunningGateway;
  const clients: TestClient[] = [];
  before(async () => {
    gw = await startGateway({
      namespaces: {
        // Private, no allow pattern, no backend: only a subscription token opens it.
        room: { private: true, presence: true, publish: true, history: { size: 10 } },
        locked: { private: true, presence: true, publish: false, history: { size: 10 } },
      },
    });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await gw.stop();
  });
  const as = async (user: string | null) => {
    const client = await connect(gw.wsUrl, { ticket: await mintTicket(gw, user) });
    clients.push(client);
    return client;
  };

  test('a token for the channel, or a pattern over it, grants the subscribe; its actions decide the rest', async () => {
    const alice = await as('alice');
    assert.equal((await alice.request({ type: 'subscribe', channel: 'room:1' })).code, 'CHANNEL_FORBIDDEN');
    const subscribed = await alice.request({ type: 'subscribe', channel: 'room:1', token: await subscriptionToken('alice', { channel: 'room:1' }) });
    assert.equal(subscribed.type, 'subscribed');
    // Only subscribe was granted.
    assert.equal((await alice.request({ type: 'publish', channel: 'room:1', data: 1 })).code, 'CHANNEL_FORBIDDEN');
    assert.equal((await alice.request({ type: 'presence', channel: 'room:1' })).code, 'CHANNEL_FORBIDDEN');

    const all = await subscriptionToken('alice', { channel: 'room:team-*', actions: ['subscribe', 'publish', 'presence', 'history'] });
    assert.equal((await alice.request({ type: 'subscribe', channel: 'room:team-7', token: all })).type, 'subscribed');
    assert.equal((await alice.request({ type: 'publish', channel: 'room:team-7', data: { n: 1 } })).type, 'published');
    assert.deepEqual((await alice.request({ type: 'presence', channel: 'room:team-7' })).members, [{ user: 'alice', sessions: 1 }]);
    assert.equal(((await alice.request({ type: 'history', channel: 'room:team-7' })).publications as unknown[]).length, 1);
    // A namespace where clients may not publish stays closed to publishing, whatever the token says.
    const locked = await subscriptionToken('alice', { channel: 'locked:*', actions: ['subscribe', 'publish'] });
    assert.equal((await alice.request({ type: 'subscribe', channel: 'locked:x', token: locked })).type, 'subscribed');
    assert.equal((await alice.request({ type: 'publish', channel: 'locked:x', data: 1 })).code, 'PUBLISH_FORBIDDEN');
  });

  test('tokens for another user, another channel, without subscribe, badly signed or expired are refused', async () => {
    const bob = await as('bob');
    const refusal = async (token: string, channel = 'room:2') => (await bob.request({ type: 'subscribe', channel, token })) as unknown as { code: string; message: string };
    assert.match((await refusal(await subscriptionToken('alice', { channel: 'room:2' }))).message, /another user/);
    assert.match((await refusal(await subscriptionToken('bob', { channel: 'room:3' }))).message, /another channel/);
    assert.match((await refusal(await subscriptionToken('bob', { channel: 'room:2x*' }))).message, /another channel/);
    assert.match((await refusal(await subscriptionToken('bob', { channel: 'room:2', actions: ['history'] }))).message, /does not grant subscribe/);
    assert.equal((await refusal(await subscriptionToken('bob', { channel: 'room:2', actions: ['admin'] }))).code, 'TOKEN_INVALID');
    assert.equal((await refusal(await subscriptionToken('bob', {}))).code, 'TOKEN_INVALID', 'no channel claim: not a subscription token');
    assert.equal((await refusal(await new SignJWT({ channel: 'room:2' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').setExpirationTime('1m').sign(new TextEncoder().encode('x'.repeat(32))))).code, 'TOKEN_INVALID');
    assert.equal((await refusal(await subscriptionToken('bob', { channel: 'room:2' }, -5_000))).code, 'TOKEN_EXPIRED');
    assert.equal((await refusal('junk')).code, 'TOKEN_INVALID');
    assert.equal((await refusal(await subscriptionToken('bob', { channel: 'room:2' }), 'room:2 bad')).code, 'CHANNEL_INVALID');
    assert.equal(bob.count('subscribed'), 0);
  });

  test('an anonymous session takes tokens without a subject', async () => {
    const anonymous = await as(null);
    assert.equal((await anonymous.request({ type: 'subscribe', channel: 'room:lobby', token: await subscriptionToken('carol', { channel: 'room:lobby' }) })).code, 'TOKEN_INVALID');
    assert.equal((await anonymous.request({ type: 'subscribe', channel: 'room:lobby', token: await subscriptionToken(null, { channel: 'room:lobby' }) })).type, 'subscribed');
  });

  test("the token's expiry drops the subscription with unsubscribed TOKEN_EXPIRED unless refreshed; a bad refresh changes nothing", async () => {
    const dave = await as('dave');
    const publisher = await as('erin');
    await publisher.request({ type: 'subscribe', channel: 'room:live', token: await subscriptionToken('erin', { channel: 'room:live', actions: ['subscribe', 'publish'] }) });
    const firstDeadline = Date.now() + 4_000;
    await dave.request({ type: 'subscribe', channel: 'room:live', token: await subscriptionToken('dave', { channel: 'room:live' }, 4_000) });
    await dave.request({ type: 'subscribe', channel: 'room:short', token: await subscriptionToken('dave', { channel: 'room:short' }, 2_000) });
    const required = await dave.seen('refresh_required', (frame) => frame.channel === 'room:live', 5_000);
    assert.ok((required.expiresIn as number) <= 2_000);
    assert.equal((await dave.request({ type: 'refresh', channel: 'room:live', token: await subscriptionToken('dave', { channel: 'room:other' }) })).code, 'TOKEN_INVALID');
    assert.equal((await dave.request({ type: 'refresh', channel: 'room:nope', token: await subscriptionToken('dave', { channel: 'room:nope' }) })).code, 'NOT_SUBSCRIBED');
    const refreshed = await dave.request({ type: 'refresh', channel: 'room:live', token: await subscriptionToken('dave', { channel: 'room:live' }, 60_000) });
    assert.equal(refreshed.type, 'refreshed');
    assert.equal(refreshed.channel, 'room:live');
    assert.ok((refreshed.expiresIn as number) > 50_000);

    const dropped = await dave.seen('unsubscribed', (frame) => frame.channel === 'room:short', 3_000);
    assert.equal(dropped.id, undefined);
    assert.equal(dropped.code, 'TOKEN_EXPIRED');
    assert.equal((await dave.request({ type: 'unsubscribe', channel: 'room:short' })).code, 'NOT_SUBSCRIBED');
    // The refreshed one lives on past its first deadline.
    await waitFor(() => Date.now() > firstDeadline + 200, 6_000, 'the first token to run out');
    const message = dave.next('message', (frame) => frame.channel === 'room:live');
    await publisher.request({ type: 'publish', channel: 'room:live', data: 'still here' });
    assert.equal((await message).data, 'still here');
    assert.equal(dave.count('unsubscribed'), 1);
    assert.equal(dave.count('disconnect'), 0);
  });

  test('revoking a token id drops the subscriptions it granted', async () => {
    const frank = await as('frank');
    await frank.request({ type: 'subscribe', channel: 'room:jti', token: await subscriptionToken('frank', { channel: 'room:jti', jti: 'grant-17' }) });
    const dropped = frank.next('unsubscribed');
    const response = await fetch(`${gw.httpUrl}/api/tokens/grant-17/revoke`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'leaked' }),
    });
    assert.equal(response.status, 200);
    const frame = await dropped;
    assert.equal(frame.code, 'CREDENTIAL_REVOKED');
    assert.match(String(frame.reason), /leaked/);
    const again = await frank.request({ type: 'subscribe', channel: 'room:jti', token: await subscriptionToken('frank', { channel: 'room:jti', jti: 'grant-17' }) });
    assert.equal(again.code, 'CREDENTIAL_REVOKED');
    assert.equal(frank.count('disconnect'), 0, 'the session itself goes on');
  });
});
