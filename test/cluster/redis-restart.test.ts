/**
 * Redis restarted under traffic: two gateway processes share a private redis-server that is killed and started again
 * on the same port while a backend keeps publishing. The nodes stay up, /readyz says the engine is down and then up,
 * the broker subscriptions come back, and delivery across nodes resumes.
 */
import assert from 'node:assert/strict';
import { waitFor } from '../support/wait.js';
import { after, before, describe, test } from 'node:test';
import type { TestClient } from '../helpers/client.js';
import { ENGINE_SETUPS, startCluster, type Cluster, type EngineWorld } from './support/cluster.js';
import { closeAll, connectUser, received } from './support/clients.js';
import { type NodeProcess } from './support/node.js';

const FEED = 'feed:ticker';

describe('Redis restarted under traffic', { timeout: 90_000 }, () => {
  let world: EngineWorld;
  let cluster: Cluster;
  let n1: NodeProcess, n2: NodeProcess;
  const clients: TestClient[] = [];

  before(async () => {
    world = await ENGINE_SETUPS[0]!.start();
    cluster = await startCluster(world, 'outage', { nodes: 2 });
    [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
  });

  after(async () => {
    await closeAll(clients).catch(() => {});
    await cluster?.stop();
    await world?.stop();
  });

  test('nodes stay up, readiness follows the engine, subscriptions are restored and delivery resumes', async () => {
    const subscriber = await connectUser(n1, 'ticker-reader');
    clients.push(subscriber);
    await subscriber.subscribe(FEED);

    // A backend publishing through n2 every 25 ms for the whole test.
    let seq = 0;
    const outcomes: Array<{ seq: number; status: number }> = [];
    let publishing = true;
    const traffic = (async () => {
      while (publishing) {
        const next = ++seq;
        const { status } = await n2.api('POST', '/api/publish', { channel: FEED, data: { seq: next } }).catch(() => ({ status: 0 }));
        outcomes.push({ seq: next, status });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const seen = (value: number) => subscriber.waitFor((frame) => frame.type === 'message' && (frame.data as { seq: number }).seq >= value, 10_000);

    try {
      await seen(3);
      const subscriptionsBefore = (await n1.broker()).subscriptions;
      assert.ok(subscriptionsBefore >= 1);

      await world.redis!.stop();
      const downAt = Date.now();
      await waitFor(async () => {
        const states = await Promise.all([n1, n2].map((node) => node.readiness()));
        return states.every(({ status, body }) => status === 503 && body.engine === 'down');
      }, 10_000, 'both nodes report the engine down');
      const detectedMs = Date.now() - downAt;
      for (const node of [n1, n2]) {
        assert.equal((await fetch(`${node.httpUrl}/healthz`)).status, 200, `${node.nodeId} is alive`);
      }
      // While Redis is away a node degrades to local delivery (accepts publications for its own subscribers), so the
      // backend's calls keep answering; none of them may hang or take the node down.
      const attemptsBefore = outcomes.length;
      await waitFor(() => outcomes.length >= attemptsBefore + 3, 5_000, 'the backend keeps getting answers while Redis is away');
      const duringOutage = outcomes.slice(attemptsBefore);

      await world.redis!.restart();
      const upAt = Date.now();
      await waitFor(async () => {
        const states = await Promise.all([n1, n2].map((node) => node.readiness()));
        return states.every(({ status, body }) => status === 200 && body.engine === 'up');
      }, 15_000, 'both nodes report the engine up again');
      const recoveredMs = Date.now() - upAt;
      assert.equal((await n1.broker()).subscriptions, subscriptionsBefore, 'n1 resubscribed the channel');

      // Delivery across nodes resumes: a publication made after the restart reaches the subscriber on the other node.
      const resumeFrom = seq + 1;
      await seen(resumeFrom);
      for (const node of [n1, n2]) assert.equal(await Promise.race([node.exited.then(() => 'exited'), Promise.resolve('running')]), 'running');
      const delivered = received(subscriber, 'message', (frame) => frame.channel === FEED).length;
      console.log(`[redis restart] engine down seen after ${detectedMs} ms, up again ${recoveredMs} ms after restart; ${outcomes.length} publications attempted (statuses during the outage: ${[...new Set(duringOutage.map((outcome) => outcome.status))].join(', ')}), ${delivered} delivered to the other node`);
    } finally {
      publishing = false;
      await traffic;
    }
  });

  // A Redis restarted without persistence comes back empty; the nodes register the sessions they still hold again.
  test('a user connected before a data-losing Redis restart is reachable from another node', async () => {
    // Re-registration follows the engine's recovery by a moment; poll for it rather than racing it.
    let pushed = await n2.api('POST', '/api/users/ticker-reader/send', { type: 'AFTER_RESTART', payload: 1 });
    await waitFor(async () => {
      if ((pushed.body as { sessions?: number }).sessions === 1) return true;
      pushed = await n2.api('POST', '/api/users/ticker-reader/send', { type: 'AFTER_RESTART', payload: 1 });
      return false;
    }, 5_000, 'the user to be reachable from n2 again');
    assert.deepEqual(pushed.body, { sessions: 1 });
    await clients[0]!.seen('AFTER_RESTART');
  });
});
