import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCluster, MemoryEngine } from '../../src/server/engine/memory.js';
import { startGateway, mintTicket, type RunningGateway } from '../helpers/gateway.js';
import { connect, type TestClient } from '../helpers/client.js';
import { api } from '../api/api-client.js';

test('a drained node leaves no registry or presence state behind, and peers see the leaves', async () => {
  const cluster = new MemoryCluster();
  const draining = await startGateway({ drain: { batchSize: 1, batchIntervalMs: 10 } }, { engine: new MemoryEngine(cluster) });
  const staying = await startGateway({}, { engine: new MemoryEngine(cluster) });
  const clients: TestClient[] = [];
  const client = async (node: RunningGateway, user: string) => {
    const connected = await connect(node.wsUrl, { ticket: await mintTicket(node, user) });
    clients.push(connected);
    return connected;
  };
  try {
    const alice = [await client(draining, 'alice'), await client(draining, 'alice')];
    const carol = await client(draining, 'carol');
    const bob = await client(staying, 'bob');
    for (const session of [...alice, carol, bob]) await session.subscribe('chat:room');
    const drainingNode = alice[0]!.welcome!.node as string;

    const leaves = [bob.next('leave', (frame) => frame.user === 'alice'), bob.next('leave', (frame) => frame.user === 'carol')];
    await draining.stop();
    for (const session of [...alice, carol]) assert.equal((await session.closed).code, 1012);
    await Promise.all(leaves);

    assert.deepEqual((await api(staying, 'GET', '/api/channels/chat%3Aroom/presence')).body.members, [{ user: 'bob', sessions: 1 }]);
    assert.equal((await api(staying, 'GET', '/api/users/alice')).body.online, false);
    assert.deepEqual(await staying.gateway.engine.registry.getNodeSessions(drainingNode), []);
    assert.ok(!(await staying.gateway.engine.registry.liveNodes()).some((info) => info.node === drainingNode));
    assert.equal(bob.count('leave'), 2, 'one leave per user, not per session');
  } finally {
    await Promise.all(clients.filter((c) => c.ws.readyState === c.ws.OPEN).map((c) => c.close()));
    await staying.stop();
  }
});
