/**
 * Revocation and server-side refresh across two gateway processes sharing Redis: a user revoked through one node loses
 * every session on both, cannot come back through either until the revocation lapses or is lifted, and handshakes
 * racing the revocation end closed too; a token id revoked on one node ends the sessions that rest on it on the other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { connect, HandshakeRefused, open, type TestClient } from '../helpers/client.js';
import { waitFor, within } from '../support/wait.js';
import { closeAll, connectUser } from './support/clients.js';
import { ENGINE_SETUPS, startCluster, type Cluster, type EngineWorld } from './support/cluster.js';
import type { NodeProcess } from './support/node.js';

const JWT_SECRET = 'cluster-revocation-jwt-secret-0123';
const token = (user: string, jti: string) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setJti(jti).setExpirationTime('10m').sign(new TextEncoder().encode(JWT_SECRET));

async function refused(attempt: Promise<TestClient>): Promise<HandshakeRefused> {
  const error = await attempt.then(() => assert.fail('the handshake should be refused'), (e: unknown) => e);
  assert.ok(error instanceof HandshakeRefused, String(error));
  return error;
}

describe('revocation across two gateway processes on Redis', { timeout: 60_000 }, () => {
  let world: EngineWorld;
  let cluster: Cluster;
  let a: NodeProcess;
  let b: NodeProcess;
  const clients: TestClient[] = [];
  const track = (client: TestClient) => (clients.push(client), client);

  before(async () => {
    world = await ENGINE_SETUPS[0]!.start();
    cluster = await startCluster(world, 'revoke', { nodes: 2, config: { auth: { jwt: { secrets: [JWT_SECRET] } } } });
    [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
  });
  after(async () => {
    await closeAll(clients).catch(() => {});
    await cluster?.stop();
    await world?.stop();
  });

  test('revoking on one node closes the user everywhere with 4503, and refuses them on every node until lifted', async () => {
    const alice = [track(await connectUser(a, 'alice')), track(await connectUser(a, 'alice')), track(await connectUser(b, 'alice', {}, a))];
    const bob = track(await connectUser(b, 'bob'));
    const revoked = await a.api('POST', '/api/users/alice/revoke', { reason: 'account closed' });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal((revoked.body as { sessions: number }).sessions, 3);
    for (const client of alice) {
      const disconnect = await client.seen('disconnect');
      assert.deepEqual([disconnect.code, disconnect.reconnect, disconnect.reason], [CloseCode.UNAUTHORIZED, false, 'account closed']);
      assert.equal((await client.closed).code, CloseCode.UNAUTHORIZED);
    }
    assert.equal(bob.count('disconnect'), 0);
    for (const node of [a, b]) {
      const error = await refused(open(node.wsUrl, { ticket: await b.mintTicket('alice') }));
      assert.deepEqual([error.status, error.code], [403, 'CREDENTIAL_REVOKED'], node.nodeId);
    }
    assert.deepEqual((await b.api('POST', '/api/revocations/remove', { user: 'alice' })).body, { removed: true });
    track(await connectUser(a, 'alice', {}, b));
  });

  test('handshakes racing a revocation on both nodes: none outlives it', async () => {
    const user = 'racer';
    const RACERS = 40;
    const tickets = await Promise.all(Array.from({ length: RACERS }, (_, index) => (index % 2 ? a : b).mintTicket(user)));
    const racers: TestClient[] = [];
    // Handshakes start every 2 ms on alternating nodes; the revocation goes out in the middle of them.
    const fates = tickets.map((ticket, index) => new Promise<string>((resolve) => {
      setTimeout(() => {
        open((index % 2 ? b : a).wsUrl, { ticket }).then(
          async (client) => {
            racers.push(client);
            const { code } = await client.closed;
            // Closed before its welcome: the node's own check after registration caught a revocation that raced it.
            resolve(`closed ${code}${client.count('welcome') === 0 ? ' unwelcomed' : ''}`);
          },
          (error: HandshakeRefused) => resolve(`refused ${error.code}`),
        );
      }, index * 2);
    }));
    const revoked = new Promise((resolve) => setTimeout(resolve, RACERS)).then(() => b.api('POST', '/api/users/racer/revoke', { reason: 'race' }));
    assert.equal((await revoked).status, 200);
    const settled = await within(Promise.all(fates), 15_000, 'every racer to be refused or closed');
    clients.push(...racers);
    const tally = new Map<string, number>();
    for (const fate of settled) tally.set(fate, (tally.get(fate) ?? 0) + 1);
    for (const fate of tally.keys()) assert.match(fate, /^(closed 4503( unwelcomed)?|refused CREDENTIAL_REVOKED)$/, JSON.stringify([...tally]));
    assert.ok((tally.get('refused CREDENTIAL_REVOKED') ?? 0) > 0, `handshakes after the revocation were refused: ${JSON.stringify([...tally])}`);
    assert.ok((tally.get('closed 4503') ?? 0) + (tally.get('closed 4503 unwelcomed') ?? 0) > 0, `sessions before it were closed: ${JSON.stringify([...tally])}`);
    for (const node of [a, b]) {
      const { body } = await node.api('GET', `/api/users/${user}`);
      assert.equal((body as { online: boolean }).online, false, `registry as seen from ${node.nodeId}`);
    }
  });

  test('a token id revoked on one node ends its sessions on the other; server-side cuts cross nodes too', async () => {
    const leaked = track(await connect(b.wsUrl, { token: await token('carol', 'jti-leaked') }));
    const kept = track(await connect(b.wsUrl, { token: await token('carol', 'jti-kept') }));
    const revoked = await a.api('POST', '/api/tokens/jti-leaked/revoke', { reason: 'leaked' });
    assert.deepEqual((revoked.body as { nodes: number }).nodes, 2);
    assert.equal((await leaked.seen('disconnect')).code, CloseCode.UNAUTHORIZED);
    assert.equal((await refused(open(a.wsUrl, { token: await token('carol', 'jti-leaked') }))).code, 'CREDENTIAL_REVOKED');
    assert.equal(kept.count('disconnect'), 0);

    const cut = await a.api('POST', `/api/sessions/${String(kept.welcome!.session)}/refresh`, { ttlSeconds: 0 });
    assert.deepEqual(cut.body, { sessions: 1 });
    const disconnect = await kept.seen('disconnect');
    assert.deepEqual([disconnect.code, disconnect.reconnect], [CloseCode.TOKEN_EXPIRED, true]);
  });

  test('a revocation lapses by itself on every node', async () => {
    const until = new Date(Date.now() + 1_000).toISOString();
    await a.api('POST', '/api/users/dave/revoke', { until });
    assert.equal((await refused(open(b.wsUrl, { ticket: await b.mintTicket('dave') }))).code, 'CREDENTIAL_REVOKED');
    await waitFor(() => Date.now() > Date.parse(until), 3_000, 'the revocation to lapse');
    track(await connectUser(b, 'dave'));
  });
});
