/**
 * The node's receive path with real sessions: a gateway on the memory engine, publications appended to the channel's
 * stream directly and handed to the hub as the broker would, in whatever order and at whatever time the test picks.
 * That is how a session that subscribes mid-stream, while the node's sequencer waits on a gap, is pinned down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StreamPosition } from '../../src/protocol/frames.js';
import { MemoryEngine } from '../../src/server/engine/memory.js';
import { arrive as arriveAt } from '../helpers/channel-arrivals.js';
import { connectAs, type Frame, type TestClient } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { deferred } from '../support/wait.js';

describe('ordered delivery on one node', () => {
  let running: RunningGateway;
  const clients: TestClient[] = [];
  let counter = 0;

  before(async () => {
    running = await startGateway({
      // Long enough that no window fires unless a test wants it to (those use `ticks`, whose gaps resolve at once);
      // no tail checks, so a gap a test leaves open stays open until the test resolves it.
      delivery: { reorderWindowMs: 60_000, tailCheckMs: 0 },
      namespaces: {
        chat: { publish: true, history: { size: 50, ttlSeconds: 60 } },
        ticks: { publish: true },
      },
    });
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await running.stop();
  });

  async function reader(): Promise<TestClient> {
    const client = await connectAs(running, `reader-${++counter}`);
    clients.push(client);
    return client;
  }

  /** Appends to the channel's stream, as a publishing node does before (or without) its broker message. */
  async function append(channel: string, historySize: number): Promise<StreamPosition> {
    return running.gateway.engine.history.append(channel, { dataJson: `{"n":${++counter}}`, fromJson: 'null' }, { size: historySize, ttlMs: 60_000 });
  }

  /** The broker message of an appended publication arrives at this node. */
  const arrive = (channel: string, position: StreamPosition) => arriveAt(running, channel, position);

  const stream = (client: TestClient, channel: string) => client.frames
    .filter((frame) => frame.channel === channel && (frame.type === 'message' || frame.type === 'lost'))
    .map((frame: Frame) => (frame.type === 'message' ? frame.offset : `lost ${frame.from}-${frame.to ?? '*'}`));

  test('a session that subscribes while the node waits on a gap starts above its subscribed position', async () => {
    const channel = 'chat:mid-stream';
    const early = await reader();
    assert.equal((await early.subscribe(channel)).offset, 0);
    const [p1, p2, p3] = [await append(channel, 50), await append(channel, 50), await append(channel, 50)];
    arrive(channel, p2);
    arrive(channel, p3);
    // The node holds 2 and 3 for 1; the store is at 3 already.
    const late = await reader();
    const reply = await late.subscribe(channel);
    assert.equal(reply.offset, 3);
    arrive(channel, p1);
    const p4 = await append(channel, 50);
    arrive(channel, p4);
    await early.seen('message', (frame) => frame.offset === 4);
    await late.seen('message', (frame) => frame.offset === 4);
    assert.deepEqual(stream(early, channel), [1, 2, 3, 4]);
    assert.deepEqual(stream(late, channel), [4], 'nothing at or below the subscribed position, nothing missed above it');
  });

  test('a publication in flight before the first subscriber arrived is not taken for the start of the channel', async () => {
    const channel = 'chat:in-flight';
    const p1 = await append(channel, 50);
    const p2 = await append(channel, 50);
    const first = await reader();
    assert.equal((await first.subscribe(channel)).offset, 2);
    // 2 was appended before the node held the channel; its broker message comes late. Had the node started from it,
    // 3 would follow 2 and a subscriber at 1 would be owed 2; the anchor is the store's position instead.
    arrive(channel, p2);
    arrive(channel, p1);
    const p3 = await append(channel, 50);
    arrive(channel, p3);
    await first.seen('message', (frame) => frame.offset === 3);
    assert.deepEqual(stream(first, channel), [3]);
  });

  test('a gap history cannot fill reaches each subscriber as lost, cut to what lies above its subscribed position', async () => {
    const channel = 'ticks:gap';
    await running.gateway.stop().catch(() => {});
    running = await startGateway({
      delivery: { reorderWindowMs: 0 },
      namespaces: { ticks: { publish: true } },
    });
    const early = await reader();
    await early.subscribe(channel);
    await append(channel, 0);
    const late = await reader();
    assert.equal((await late.subscribe(channel)).offset, 1);
    await append(channel, 0);
    const p3 = await append(channel, 0);
    arrive(channel, p3);
    await early.seen('message', (frame) => frame.offset === 3);
    await late.seen('message', (frame) => frame.offset === 3);
    assert.deepEqual(stream(early, channel), ['lost 1-2', 3]);
    assert.deepEqual(stream(late, channel), ['lost 2-2', 3]);
    const lost = early.frames.find((frame) => frame.type === 'lost')!;
    assert.equal(lost.epoch, p3.epoch);
  });

  test('after a broker reconnect each channel catches up with its stream from history', async () => {
    const channel = 'chat:reconnect';
    await running.gateway.stop().catch(() => {});
    running = await startGateway({ namespaces: { chat: { publish: true, history: { size: 50, ttlSeconds: 60 } } } });
    const client = await reader();
    await client.subscribe(channel);
    arrive(channel, await append(channel, 50));
    // Published while this node's broker connection was down: their broker messages never come.
    await append(channel, 50);
    await append(channel, 50);
    await running.gateway.node.resync();
    await client.seen('message', (frame) => frame.offset === 3);
    assert.deepEqual(stream(client, channel), [1, 2, 3]);
  });
});

describe('the end of a burst the broker dropped', () => {
  test('a channel gone quiet reads its stream once: the missing tail comes from history, or is announced lost', async () => {
    const engine = new MemoryEngine();
    const running = await startGateway(
      { delivery: { tailCheckMs: 20 }, namespaces: { chat: { publish: true, history: { size: 50, ttlSeconds: 60 } }, ticks: { publish: true } } },
      { engine },
    );
    const append = (channel: string, size: number) => engine.history.append(channel, { dataJson: '{}', fromJson: 'null' }, { size, ttlMs: 60_000 });
    const arrive = (channel: string, position: StreamPosition) => arriveAt(running, channel, position);
    try {
      const client = await connectAs(running, 'tail-reader');
      for (const channel of ['chat:tail', 'ticks:tail']) {
        await client.subscribe(channel);
        const size = channel.startsWith('chat') ? 50 : 0;
        arrive(channel, await append(channel, size));
        // Appended, but their broker messages never come, and nothing is published after them.
        await append(channel, size);
        await append(channel, size);
      }
      await client.seen('message', (frame) => frame.channel === 'chat:tail' && frame.offset === 3);
      await client.seen('lost', (frame) => frame.channel === 'ticks:tail');
      const seen = (channel: string) => client.frames.filter((f) => f.channel === channel && (f.type === 'lost' || f.type === 'message'))
        .map((f) => (f.type === 'lost' ? `lost ${f.from}-${f.to}` : f.offset));
      assert.deepEqual(seen('chat:tail'), [1, 2, 3]);
      assert.deepEqual(seen('ticks:tail'), [1, 'lost 2-3']);
      await client.close();
    } finally {
      await running.stop();
    }
  });
});

describe('a subscription being set up while the node announces a loss', () => {
  test('the lost range waiting for its subscribed reply is cut to what lies above the reply position', async () => {
    const engine = new MemoryEngine();
    const running = await startGateway({ delivery: { reorderWindowMs: 0 }, namespaces: { ticks: { publish: true } } }, { engine });
    const channel = 'ticks:pending';
    const append = () => engine.history.append(channel, { dataJson: '{}', fromJson: 'null' }, { size: 0, ttlMs: 60_000 });
    try {
      const early = await connectAs(running, 'early');
      await early.subscribe(channel);
      await append();
      // The late subscriber's position is read now (offset 1) but answered only when the test lets it.
      const position = engine.history.position.bind(engine.history);
      const asked = deferred();
      const answer = deferred();
      engine.history.position = async (name) => {
        const read = await position(name);
        asked.resolve();
        await answer.promise;
        return read;
      };
      const late = await connectAs(running, 'late');
      const reply = late.subscribe(channel);
      await asked.promise;
      await append();
      const p3 = await append();
      arriveAt(running, channel, p3);
      await early.seen('message', (candidate) => candidate.offset === 3);
      answer.resolve();
      assert.equal((await reply).offset, 1);
      await late.seen('message', (candidate) => candidate.offset === 3);
      const seen = (client: TestClient) => client.frames.filter((f) => f.type === 'lost' || f.type === 'message').map((f) => (f.type === 'lost' ? `lost ${f.from}-${f.to}` : f.offset));
      assert.deepEqual(seen(early), ['lost 1-2', 3]);
      assert.deepEqual(seen(late), ['lost 2-2', 3], 'offset 1 precedes the subscription; 2 is all it lost');
      await Promise.all([early.close(), late.close()]);
    } finally {
      await running.stop();
    }
  });
});
