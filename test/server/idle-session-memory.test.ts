import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, connectAs } from '../helpers/client.js';
import { mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';

// A forced collection without starting the test runner with --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Collects until `ref` is cleared, or gives up. `deref()` keeps its target alive until the end of the current turn,
 * so every collection runs in a turn of its own, after the one that looked.
 */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let round = 0; round < 10; round++) {
    await nextTurn();
    collectGarbage();
    await nextTurn();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

describe('what an idle session keeps', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.stop());

  test('an open session holds no reference to its upgrade request', async () => {
    const requests: Array<WeakRef<IncomingMessage>> = [];
    const server = (gw.gateway as unknown as { app: { server: Server } }).app.server;
    const watch = (req: IncomingMessage): void => void requests.push(new WeakRef(req));
    server.prependListener('upgrade', watch);
    const client = await connect(gw.wsUrl, { ticket: await mintTicket(gw, 'idle-alice') });
    server.off('upgrade', watch);
    assert.equal(requests.length, 1);
    assert.ok(await collected(requests[0]!), 'the upgrade request was collected while its session stayed open');
    // Still the same open session: it answers, and the node still lists it.
    const reply = await client.request({ type: 'subscribe', channel: 'chat:idle' });
    assert.equal(reply.type, 'subscribed');
    assert.ok([...gw.gateway.hub.sessions.values()].some((session) => session.user === 'idle-alice'));
    await client.close();
  });

  test('sessions whose credential has no claims share one frozen claims object; claims given stay their own', async () => {
    const [first, second, withClaims, anonymous] = await Promise.all([
      connectAs(gw, 'idle-bob'),
      connectAs(gw, 'idle-carol'),
      connectAs(gw, 'idle-dave', { org: 'acme' }),
      connect(gw.wsUrl),
    ]);
    const claimsOf = (user: string | null): Record<string, unknown> => {
      const session = [...gw.gateway.hub.sessions.values()].find((candidate) => candidate.user === user);
      assert.ok(session, `a session of ${user}`);
      return session.identity.claims;
    };
    assert.equal(claimsOf('idle-bob'), claimsOf('idle-carol'));
    assert.equal(claimsOf('idle-bob'), claimsOf(null), 'an anonymous session too');
    assert.ok(Object.isFrozen(claimsOf('idle-bob')));
    assert.deepEqual(claimsOf('idle-dave'), { org: 'acme' });
    await Promise.all([first, second, withClaims, anonymous].map((client) => client.close()));
  });
});
