/** Streaming sessions in a cluster: three gateway processes on one Redis, behind HAProxy, POSTs landing anywhere. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHaproxy, type Balancer } from '../cluster/support/haproxy.js';
import { ENGINE_SETUPS, startCluster, type Cluster, type EngineWorld } from '../cluster/support/cluster.js';
import { connectStream } from '../helpers/stream-client.js';
import { waitFor } from '../support/wait.js';

let world: EngineWorld;
let cluster: Cluster;
let balancer: Balancer;

before(async () => {
  world = await ENGINE_SETUPS.find((setup) => setup.name === 'redis')!.start();
  cluster = await startCluster(world, 'streams', { nodes: 3, config: { auth: { anonymous: true }, streaming: { heartbeatMs: 200, orderWaitMs: 200 } } });
  balancer = await startHaproxy(cluster.nodes);
});

after(async () => {
  await balancer?.stop();
  await cluster?.stop();
  await world?.stop();
});

for (const kind of ['sse', 'http-stream'] as const) {
  test(`${kind}: POSTs to the other nodes reach the session on the first, in sequence order`, async () => {
    const [holder, second, third] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const client = await connectStream(kind, holder.httpUrl, { postUrl: `${second.httpUrl}/emulation` });
    assert.equal(client.welcome!.node, holder.nodeId);
    const subscribed = await client.subscribe('chat:across');
    assert.equal(subscribed.channel, 'chat:across');

    // Two POSTs race through two different nodes, the later one first.
    const publish = (data: number) => ({ type: 'publish', channel: 'chat:across', data, id: 200 + data });
    const first = client.skipSeq();
    const secondSeq = client.skipSeq();
    assert.equal(await client.post([publish(2)], { seq: secondSeq, url: `${third.httpUrl}/emulation` }), 204);
    assert.equal(await client.post([publish(1)], { seq: first, url: `${second.httpUrl}/emulation` }), 204);
    await client.seen('published', (frame) => frame.id === 202);
    const offsets = [201, 202].map((id) => client.frames.find((frame) => frame.id === id)!.offset as number);
    assert.ok(offsets[0]! < offsets[1]!, `applied in seq order: ${offsets.join(', ')}`);

    // Another node knows the session from the registry, but not a wrong secret; an unknown session is the same 404.
    assert.equal(await client.post([publish(3)], { secret: 'wrong', url: `${third.httpUrl}/emulation` }), 404);
    assert.equal(await client.post([publish(3)], { session: 'nobody', url: `${second.httpUrl}/emulation` }), 404);
    await client.close();
  });

  test(`${kind}: through HAProxy the stream is not buffered and POSTs need no stickiness`, async () => {
    const client = await connectStream(kind, balancer.httpUrl);
    const heartbeats = client.heartbeats;
    await waitFor(() => client.heartbeats >= heartbeats + 2, 5_000, 'heartbeats through the balancer');
    // leastconn spreads the POSTs over the nodes; each must reach the one session wherever it landed.
    for (let i = 1; i <= 6; i++) {
      const reply = await client.request({ type: 'subscribe', channel: `chat:lb-${i}` });
      assert.equal(reply.type, 'subscribed');
    }
    await client.close();
  });

  test(`${kind}: a session that comes back recovers what it missed from history`, async () => {
    const [, second] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const channel = `chat:recover-${kind}`;
    const client = await connectStream(kind, balancer.httpUrl);
    await client.subscribe(channel);
    const seenOffset = (await second.api('POST', '/api/publish', { channel, data: 'seen' })).body as { offset: number; epoch: string };
    await client.seen('message', (frame) => frame.data === 'seen');
    await client.close();
    for (const data of ['missed-1', 'missed-2']) await second.api('POST', '/api/publish', { channel, data });
    const again = await connectStream(kind, balancer.httpUrl);
    const reply = await again.subscribe(channel, { recover: { offset: seenOffset.offset, epoch: seenOffset.epoch } });
    assert.equal(reply.recovered, true);
    assert.deepEqual((reply.publications as Array<{ data: string }>).map((publication) => publication.data), ['missed-1', 'missed-2']);
    await again.close();
  });
}
