/**
 * The per-user session policy holds across nodes under a race: many handshakes of one user at once, spread over
 * three gateway processes sharing Redis. The policy comes with the credential (`sessionPolicy` claim of the ticket).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { open, type TestClient } from '../helpers/client.js';
import { deferred, within } from '../support/wait.js';
import { ENGINE_SETUPS, startCluster, type Cluster, type EngineWorld } from './support/cluster.js';
import { closeAll } from './support/clients.js';
import type { NodeProcess } from './support/node.js';

const CONCURRENT = 12;

interface UserSessions {
  sessions: Array<{ session: string; node: string }>;
}

describe('session policy across three gateway processes', { timeout: 90_000 }, () => {
  let world: EngineWorld;
  let cluster: Cluster;
  const clients: TestClient[] = [];

  before(async () => {
    world = await ENGINE_SETUPS[0]!.start();
    cluster = await startCluster(world, 'policy', { nodes: 3 });
  });

  after(async () => {
    await closeAll(clients).catch(() => {});
    await cluster?.stop();
    await world?.stop();
  });

  /** Opens CONCURRENT sessions of `user` at once, round robin over the nodes; resolves when all but `survivors` closed. */
  async function race(user: string, onLimit: 'kick-oldest' | 'reject-new') {
    const nodes = cluster.nodes;
    const claims = { sessionPolicy: { max: 1, onLimit } };
    const tickets = await Promise.all(Array.from({ length: CONCURRENT }, (_, index) => nodes[index % nodes.length]!.mintTicket(user, claims)));
    const racers = await Promise.all(tickets.map((ticket, index) => open(nodes[index % nodes.length]!.wsUrl, { ticket })));
    clients.push(...racers);
    const allButOne = deferred();
    const closes: Array<{ client: TestClient; code: number }> = [];
    for (const client of racers) {
      void client.closed.then(({ code }) => {
        closes.push({ client, code });
        if (closes.length === CONCURRENT - 1) allButOne.resolve();
      });
    }
    await within(allButOne.promise, 10_000, `${CONCURRENT - 1} of ${CONCURRENT} sessions closed`).catch((error: Error) => {
      // Say what each racer saw, so a failure can be understood from the log alone.
      const open = racers.filter((client) => !closes.some((closed) => closed.client === client));
      const seen = open.map((client) => client.frames.map((frame) => frame.type === 'welcome' ? `welcome:${String(frame.session)}@${String(frame.node)}` : frame.type).join(','));
      throw new Error(`${error.message}; closed with ${JSON.stringify(closes.map((closed) => closed.code))}; still open: ${JSON.stringify(seen)}`);
    });
    const survivors = racers.filter((client) => !closes.some((closed) => closed.client === client));
    assert.equal(survivors.length, 1);
    const survivor = survivors[0]!;
    const welcome = await survivor.seen('welcome');
    return { racers, closes, survivor, welcome };
  }

  async function registered(node: NodeProcess, user: string): Promise<UserSessions> {
    const { status, body } = await node.api('GET', `/api/users/${user}`);
    assert.equal(status, 200, JSON.stringify(body));
    return body as UserSessions;
  }

  test(`kick-oldest: ${CONCURRENT} concurrent sessions of one user on three nodes leave exactly one`, async () => {
    const user = 'racer-kick';
    const { closes, survivor, welcome } = await race(user, 'kick-oldest');
    assert.deepEqual([...new Set(closes.map((closed) => closed.code))], [CloseCode.KICKED], 'every other session was kicked (4501)');
    for (const { client } of closes) {
      const disconnect = await client.seen('disconnect');
      assert.equal(disconnect.code, CloseCode.KICKED);
      assert.equal(disconnect.reconnect, false);
    }
    for (const node of cluster.nodes) {
      const { sessions } = await registered(node, user);
      assert.deepEqual(sessions.map((entry) => entry.session), [welcome.session], `registry as seen from ${node.nodeId}`);
    }
    assert.equal(survivor.ws.readyState, survivor.ws.OPEN);
    // The survivor is live: a push reaches it.
    const pushed = await cluster.nodes[0]!.api('POST', `/api/users/${user}/send`, { type: 'STILL_HERE', payload: 1 });
    assert.deepEqual(pushed.body, { sessions: 1 });
    await survivor.seen('STILL_HERE');
  });

  test(`reject-new: ${CONCURRENT} concurrent sessions of one user on three nodes admit exactly one`, async () => {
    const user = 'racer-reject';
    const { racers, closes, welcome } = await race(user, 'reject-new');
    assert.deepEqual([...new Set(closes.map((closed) => closed.code))], [CloseCode.SESSION_LIMIT], 'every other session was refused (4502)');
    const welcomed = racers.filter((client) => client.frames.some((frame) => frame.type === 'welcome'));
    assert.equal(welcomed.length, 1, 'only the admitted session was welcomed');
    for (const node of cluster.nodes) {
      const { sessions } = await registered(node, user);
      assert.deepEqual(sessions.map((entry) => entry.session), [welcome.session], `registry as seen from ${node.nodeId}`);
    }
  });
});
