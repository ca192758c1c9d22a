/**
 * The cluster end to end, over every engine setup: gateway nodes as separate processes (the compiled CLI) sharing one
 * Redis, two Redis shards, a 3-master Redis Cluster, or NATS with Redis stores. Broker counters come from each node's
 * /metrics (`wsgate_broker_*`), so "one broker message per interested node" is checked on the real processes.
 */
import { waitFor } from '../support/wait.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HandshakeRefused, open } from '../helpers/client.js';
import { ENGINE_SETUPS, startCluster, type Cluster, type EngineWorld } from './support/cluster.js';
import { closeAll, connectUser, received, type Frame, type TestClient } from './support/clients.js';
import { type BrokerCounters, type NodeProcess } from './support/node.js';

function delta(before: BrokerCounters, after: BrokerCounters): BrokerCounters {
  return {
    published: after.published - before.published,
    received: after.received - before.received,
    inboxSent: after.inboxSent - before.inboxSent,
    inboxReceived: after.inboxReceived - before.inboxReceived,
    subscriptions: after.subscriptions,
  };
}

/** Whether the last `sendToUser` went through the server API (else a direct message). */
let viaApi = false;

/**
 * Sends `data` to every session of `user` from `node`: through the server API (`POST /api/users/{user}/send`) where the
 * node has it, else as a `send` direct message from a session on that node. Returns how a recipient recognises it.
 */
async function sendToUser(node: NodeProcess, sender: TestClient, user: string, data: { seq: number; tag: string }): Promise<(frame: Frame) => boolean> {
  const api = await node.api('POST', `/api/users/${encodeURIComponent(user)}/send`, { type: 'CLUSTER_PING', payload: data });
  if (api.status !== 404 || (api.body as { code?: string }).code !== 'NOT_FOUND' || !/no route/.test(String((api.body as { message?: string }).message))) {
    assert.ok(api.status >= 200 && api.status < 300, `server API send: ${api.status} ${JSON.stringify(api.body)}`);
    viaApi = true;
    return (frame) => frame.type === 'CLUSTER_PING' && (frame.payload as typeof data | undefined)?.seq === data.seq && (frame.payload as typeof data).tag === data.tag;
  }
  const reply = await sender.request({ type: 'send', user, data });
  assert.equal(reply.type, 'sent', JSON.stringify(reply));
  return (frame) => frame.type === 'direct' && (frame.data as typeof data | undefined)?.seq === data.seq && (frame.data as typeof data).tag === data.tag;
}

for (const setup of ENGINE_SETUPS) {
  describe(`cluster of gateway processes on ${setup.name}`, { timeout: 90_000 }, () => {
    let world: EngineWorld;
    let cluster: Cluster;
    let nodes: NodeProcess[];
    const clients: TestClient[] = [];
    const track = (client: TestClient) => (clients.push(client), client);

    before(async () => {
      world = await setup.start();
      cluster = await startCluster(world, 'e2e', { nodes: 4 });
      nodes = cluster.nodes;
    });

    after(async () => {
      await closeAll(clients).catch(() => {});
      await cluster?.stop();
      await world?.stop();
    });

    test('a user with sessions on three nodes gets a message sent through a fourth node once per session, one inbox message per node', async () => {
      const [n1, n2, n3, n4] = nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess];
      const user = 'multi-device';
      // Two sessions on n1: still one inbox message for that node.
      const sessions = [
        track(await connectUser(n1, user)), track(await connectUser(n1, user)),
        track(await connectUser(n2, user)), track(await connectUser(n3, user)),
      ];
      assert.deepEqual(sessions.map((session) => session.welcome!.node), [n1.nodeId, n1.nodeId, n2.nodeId, n3.nodeId]);
      const sender = track(await connectUser(n4, 'backend-sender'));

      const before = await Promise.all(nodes.map((node) => node.broker()));
      const first = await sendToUser(n4, sender, user, { seq: 1, tag: setup.name });
      await Promise.all(sessions.map((session) => session.waitFor(first)));
      // A second message through the same path: when it is in, a duplicate of the first would have been too.
      const second = await sendToUser(n4, sender, user, { seq: 2, tag: setup.name });
      await Promise.all(sessions.map((session) => session.waitFor(second)));
      for (const session of sessions) {
        assert.equal(session.frames.filter(first).length, 1, `session on ${session.welcome!.node} got the first message once`);
        assert.equal(session.frames.filter(second).length, 1);
      }
      const counters = (await Promise.all(nodes.map((node) => node.broker()))).map((now, index) => delta(before[index]!, now));
      // Two messages, each to the three nodes holding the user's sessions: 3 inbox messages per send, none published.
      assert.equal(counters[3]!.inboxSent, 6, `n4 ${JSON.stringify(counters[3])}`);
      for (const index of [0, 1, 2]) assert.equal(counters[index]!.inboxReceived, 2, `node ${index + 1} ${JSON.stringify(counters[index])}`);
      assert.equal(counters[3]!.inboxReceived, 0);
      for (const counter of counters) assert.equal(counter.published, 0);
      console.log(`[${setup.name}] user send (${viaApi ? 'POST /api/users/{user}/send' : 'direct message'}): broker deltas per node ${JSON.stringify(counters)}`);
    });

    test('a channel with subscribers on two of three nodes costs one broker message per interested node per publication', async () => {
      const [n1, n2, n3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
      const channel = `feed:fanout-${Date.now()}`;
      const subscribers = [
        track(await connectUser(n1, 'reader-a')), track(await connectUser(n1, 'reader-b')), track(await connectUser(n2, 'reader-c')),
      ];
      for (const subscriber of subscribers) await subscriber.subscribe(channel);
      const publisher = track(await connectUser(n3, 'writer'));
      const before = await Promise.all(nodes.map((node) => node.broker()));

      const publications = 5;
      for (let seq = 1; seq <= publications; seq++) {
        const reply = await publisher.request({ type: 'publish', channel, data: { seq } });
        assert.equal(reply.type, 'published', JSON.stringify(reply));
      }
      for (const subscriber of subscribers) {
        await subscriber.waitFor((frame) => frame.type === 'message' && (frame.data as { seq: number }).seq === publications);
        const seqs = received(subscriber, 'message', (frame) => frame.channel === channel).map((frame) => (frame.data as { seq: number }).seq);
        assert.deepEqual(seqs, [1, 2, 3, 4, 5], 'every subscriber gets every publication once, in order');
      }

      const counters = (await Promise.all(nodes.map((node) => node.broker()))).map((now, index) => delta(before[index]!, now));
      console.log(`[${setup.name}] channel fan-out of ${publications}: broker deltas per node ${JSON.stringify(counters)}`);
      assert.equal(counters[2]!.published, publications, 'the publishing node published each publication once');
      assert.equal(counters[0]!.received, publications, 'n1 (two subscribers) received each publication once');
      assert.equal(counters[1]!.received, publications, 'n2 (one subscriber) received each publication once');
      assert.equal(counters[2]!.received, 0, 'n3 has no subscriber and received nothing');
      assert.equal(counters[3]!.received, 0, 'n4 has no subscriber and received nothing');
      for (const counter of counters) assert.equal(counter.inboxSent, 0);
      assert.ok(counters[0]!.subscriptions >= 1 && counters[1]!.subscriptions >= 1);

      // The last subscriber leaving a node ends that node's broker subscription.
      const n2Before = counters[1]!.subscriptions;
      await subscribers[2]!.request({ type: 'unsubscribe', channel });
      await waitFor(async () => (await n2.broker()).subscriptions === n2Before - 1, 5_000, 'n2 unsubscribed on the broker');
      const afterUnsubscribe = await n2.broker();
      await publisher.request({ type: 'publish', channel, data: { seq: 6 } });
      await subscribers[0]!.waitFor((frame) => frame.type === 'message' && (frame.data as { seq: number }).seq === 6);
      assert.equal((await n2.broker()).received, afterUnsubscribe.received, 'n2 no longer receives the channel');
    });

    test('a ticket minted on one node is redeemed on another, and only once when two nodes race for it', async () => {
      const [n1, n2, n3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
      const elsewhere = track(await connectUser(n2, 'ticket-holder', {}, n1));
      assert.equal(elsewhere.welcome!.user, 'ticket-holder');
      assert.equal(elsewhere.welcome!.node, n2.nodeId);

      for (let round = 0; round < 3; round++) {
        const ticket = await n1.mintTicket('ticket-racer');
        const attempts = await Promise.allSettled([open(n2.wsUrl, { ticket }), open(n3.wsUrl, { ticket })]);
        const accepted = attempts.filter((attempt): attempt is PromiseFulfilledResult<TestClient> => attempt.status === 'fulfilled');
        assert.equal(accepted.length, 1, `round ${round}: exactly one handshake wins the ticket`);
        track(accepted[0]!.value);
        const refused = attempts.find((attempt): attempt is PromiseRejectedResult => attempt.status === 'rejected')!.reason as HandshakeRefused;
        assert.ok(refused instanceof HandshakeRefused, String(refused));
        assert.equal(refused.status, 401);
        assert.equal(refused.code, 'TICKET_INVALID');
      }
    });
  });
}
