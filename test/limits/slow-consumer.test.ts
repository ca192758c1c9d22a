import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { connectAs, type TestClient } from '../helpers/client.js';
import { within } from '../support/wait.js';

const CHANNEL = 'chat:firehose';
const PAYLOAD = 'x'.repeat(4096);
/** Publications in flight at once: well under the queue bound, so a reading client never comes near it. */
const BATCH = 40;
const MAX_PUBLICATIONS = 40_000;

function startFirehose(overrides: { ws?: { closeTimeoutMs?: number } } = {}): Promise<RunningGateway> {
  return startGateway({
    ws: { sendQueueBytes: 512 * 1024, ...overrides.ws },
    limits: { rate: { publish: { rate: 1e6, burst: 1e6 } } },
  });
}

function socketOf(client: TestClient): Socket {
  return (client.ws as unknown as { _socket: Socket })._socket;
}

/** Publishes in batches until the node has evicted `slowId`; returns how many were published and the last offset. */
async function floodUntilEvicted(running: RunningGateway, publisher: TestClient, slowId: string): Promise<{ published: number; lastOffset: number }> {
  let published = 0;
  let lastOffset = 0;
  while (running.gateway.hub.sessions.has(slowId)) {
    assert.ok(published < MAX_PUBLICATIONS, 'the slow consumer was never evicted');
    for (let i = 0; i < BATCH; i++) publisher.send({ type: 'publish', id: `p${published + i}`, channel: CHANNEL, data: PAYLOAD });
    published += BATCH;
    const reply = await publisher.waitFor((frame) => frame.id === `p${published - 1}`, 10_000);
    assert.equal(reply.type, 'published');
    lastOffset = reply.offset as number;
  }
  return { published, lastOffset };
}

function assertToldWhy(slow: TestClient, closed: { code: number }): void {
  assert.equal(closed.code, 4001);
  const disconnect = slow.frames.at(-1)!;
  assert.deepEqual({ type: disconnect.type, code: disconnect.code, reconnect: disconnect.reconnect }, { type: 'disconnect', code: 4001, reconnect: true });
}

test('a client that stops reading is evicted with 4001 while healthy subscribers get every message', async () => {
  const running = await startFirehose();
  const clients: TestClient[] = [];
  try {
    const healthy = await Promise.all([1, 2, 3].map((n) => connectAs(running, `healthy-${n}`)));
    const slow = await connectAs(running, 'slow');
    const publisher = await connectAs(running, 'publisher');
    clients.push(...healthy, publisher);
    for (const client of [...healthy, slow]) await client.subscribe(CHANNEL);
    const slowId = slow.welcome!.session as string;

    // The slow client stops reading: the kernel buffers fill, then the gateway's queue for it.
    socketOf(slow).pause();
    const { published, lastOffset } = await floodUntilEvicted(running, publisher, slowId);

    for (const client of healthy) assert.ok(running.gateway.hub.sessions.has(client.welcome!.session as string), 'healthy subscribers stay');

    // Reading again, the evicted client finds the reason after what was already on its way, then the close.
    socketOf(slow).resume();
    assertToldWhy(slow, await within(slow.closed, 10_000, 'the slow consumer to be closed'));
    assert.ok(slow.count('message') < published, 'the slow client missed messages');

    for (const client of healthy) {
      await client.seen('message', (frame) => frame.offset === lastOffset, 20_000);
      const offsets = client.frames.filter((frame) => frame.type === 'message').map((frame) => frame.offset as number);
      assert.equal(offsets.length, published, 'every message reached every healthy subscriber');
      assert.equal(offsets[offsets.length - 1]! - offsets[0]! + 1, published, 'in order, none missing');
      assert.equal(client.ws.readyState, client.ws.OPEN);
    }

    const metrics = await (await fetch(`${running.httpUrl}/metrics`)).text();
    assert.match(metrics, /wsgate_slow_consumers_total 1\n/);
    assert.match(metrics, /wsgate_disconnects_total\{reason="SLOW_CONSUMER"\} 1\n/);
    assert.match(metrics, /wsgate_dropped_frames_total [1-9]/);
    console.log(`evicted after ${published} publications of ${PAYLOAD.length} bytes; healthy subscribers got all ${published}`);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await running.stop();
  }
});

test('an evicted client that resumes reading late still gets disconnect 4001 and close 4001, then the node lets go', async () => {
  const running = await startFirehose();
  try {
    const slow = await connectAs(running, 'late-reader');
    const publisher = await connectAs(running, 'publisher');
    await slow.subscribe(CHANNEL);
    socketOf(slow).pause();
    await floodUntilEvicted(running, publisher, slow.welcome!.session as string);
    // Longer than the 2 s the node used to give a closing socket before destroying it.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    socketOf(slow).resume();
    assertToldWhy(slow, await within(slow.closed, 10_000, 'the late reader to be closed'));
    await publisher.close();
  } finally {
    await running.stop();
  }
});

test('an evicted client that never reads again is dropped after ws.closeTimeoutMs', async () => {
  const running = await startFirehose({ ws: { closeTimeoutMs: 1_000 } });
  try {
    const serverSockets: Socket[] = [];
    running.gateway.http.server.on('connection', (socket: Socket) => serverSockets.push(socket));
    const slow = await connectAs(running, 'gone-reader');
    const publisher = await connectAs(running, 'publisher');
    await slow.subscribe(CHANNEL);
    // The node's end of the slow client's connection.
    const nodeSide = serverSockets.find((socket) => socket.remotePort === socketOf(slow).localPort)!;
    const nodeSideClosed = new Promise<number>((resolve) => nodeSide.once('close', () => resolve(Date.now())));
    socketOf(slow).pause();
    await floodUntilEvicted(running, publisher, slow.welcome!.session as string);
    const evictedAt = Date.now();
    const closedAt = await within(nodeSideClosed, 10_000, 'the node to drop the connection of a client that never reads');
    assert.ok(closedAt - evictedAt >= 900, `dropped ${closedAt - evictedAt} ms after the eviction, not before the close timeout`);
    slow.ws.terminate();
    await publisher.close();
  } finally {
    await running.stop();
  }
});
