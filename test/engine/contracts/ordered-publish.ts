import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerHandler } from '../../../src/server/engine/broker/broker.js';
import type { Engine } from '../../../src/server/engine/engine.js';
import { decodeChannelEnvelope, encodeChannelEnvelope } from '../../../src/server/codec/broker-envelope.js';
import type { HistoryOptions } from '../../../src/server/engine/history/history.js';
import { encodeMessageFrame, messageFrameTemplate } from '../../../src/server/codec/wsgate-v1/server-frames.js';
import type { ChannelPublication } from '../../../src/server/engine/broker/channel-publisher.js';
import { within } from '../../support/wait.js';
import { withWorld } from './world.js';

/** Started engines of one cluster, one per node, each with its own connections. */
export interface EngineWorld {
  node(nodeId: string, handler: BrokerHandler): Promise<Engine>;
  close(): Promise<void>;
}

export type EngineWorldFactory = () => Promise<EngineWorld>;

interface Arrival {
  offset: number;
  epoch: string;
  exclude: string | null;
  frame: string;
}

/** Decodes every envelope of one channel as it arrives and lets a test await a count. */
class ChannelRecorder implements BrokerHandler {
  readonly arrivals: Arrival[] = [];
  private waiter: { count: number; resolve: () => void } | null = null;

  onChannelMessage(_channel: string, payload: Buffer): void {
    const envelope = decodeChannelEnvelope(payload);
    assert.ok(envelope?.position, 'a publication envelope carries its stream position');
    this.arrivals.push({ ...envelope.position, exclude: envelope.excludeSession, frame: envelope.frame.toString('utf8') });
    if (this.waiter && this.arrivals.length >= this.waiter.count) this.waiter.resolve();
  }

  onInboxMessage(): void {}

  until(count: number, what: string): Promise<void> {
    if (this.arrivals.length >= count) return Promise.resolve();
    return within(new Promise<void>((resolve) => (this.waiter = { count, resolve })), 20_000, what);
  }

  /** Arrivals whose offset is not above one received before (per epoch). */
  inversions(): number {
    let highest = 0;
    let inverted = 0;
    for (const { offset } of this.arrivals) {
      if (offset <= highest) inverted++;
      highest = Math.max(highest, offset);
    }
    return inverted;
  }
}

/** Engines built by `make`, one per node, all started and closed by the world. */
export function engineWorld(make: () => Engine): EngineWorldFactory {
  return async () => {
    const engines: Engine[] = [];
    return {
      async node(nodeId, handler) {
        const engine = make();
        engines.push(engine);
        await engine.start(nodeId, handler);
        return engine;
      },
      async close() {
        for (const engine of engines) await engine.close();
      },
    };
  };
}

function publication(channel: string, dataJson: string, fromJson: string, excludeSession: string | null): ChannelPublication {
  return { template: messageFrameTemplate(channel, dataJson, fromJson), dataJson, fromJson, excludeSession };
}

const KEEP: HistoryOptions = { size: 1000, ttlMs: 60_000 };

async function publishMany(engine: Engine, channel: string, node: string, count: number, inFlight: number, history: HistoryOptions): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const dataJson = JSON.stringify({ node, n });
      const fromJson = JSON.stringify({ user: null, session: `${node}-s` });
      await engine.publisher.publish(channel, publication(channel, dataJson, fromJson, `${node}-s`), history);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/**
 * The shared contract of publishing a channel publication, run on every engine: offsets are assigned and handed to
 * pub/sub in one atomic step per channel, so every subscriber node sees them in offset order. With `ordered: false`
 * (NATS, where the receiving node re-sequences) the suite checks everything but the arrival order.
 */
export function orderedPublishContract(name: string, factory: EngineWorldFactory, options: { ordered: boolean } = { ordered: true }): void {
  describe(`Channel publication contract: ${name}`, () => {
    it(`two nodes publishing 2×300 at once: a third node receives every offset exactly once${options.ordered ? ', in order' : ''}`, () =>
      withWorld(factory, async (world) => {
        const channel = 'chat:ordered/room-1';
        const watcher = new ChannelRecorder();
        const quiet = new ChannelRecorder();
        const subscriber = await world.node('node-c', watcher);
        await subscriber.broker.subscribe(channel);
        // The first publisher also has a local subscriber, as a node usually has.
        const a = await world.node('node-a', quiet);
        await a.broker.subscribe(channel);
        const b = await world.node('node-b', new ChannelRecorder());
        await Promise.all([publishMany(a, channel, 'node-a', 300, 24, KEEP), publishMany(b, channel, 'node-b', 300, 24, KEEP)]);
        await watcher.until(600, 'all 600 publications on the subscriber node');
        await quiet.until(600, 'all 600 publications on the publishing node');
        for (const recorder of [watcher, quiet]) {
          const offsets = recorder.arrivals.map((arrival) => arrival.offset);
          assert.equal(new Set(recorder.arrivals.map((arrival) => arrival.epoch)).size, 1, 'one epoch');
          assert.deepEqual([...offsets].sort((x, y) => x - y), Array.from({ length: 600 }, (_, i) => i + 1), 'every offset exactly once');
          if (options.ordered) assert.equal(recorder.inversions(), 0, `offsets out of order: ${recorder.inversions()}`);
        }
        console.log(`# ${name}: inversions on the subscriber node ${watcher.inversions()}, on the publishing node ${quiet.inversions()}`);
      }));

    it('sends the envelope encodeChannelEnvelope would build, and keeps the publication in history', () =>
      withWorld(factory, async (world) => {
        const channel = 'chat:bytes/é@x.y=+';
        const watcher = new ChannelRecorder();
        const node = await world.node('node-a', watcher);
        await node.broker.subscribe(channel);
        const dataJson = JSON.stringify({ text: 'héllo "quoted" \\ \n', n: [1, 2] });
        const fromJson = JSON.stringify({ user: 'alice', session: 's-1' });
        const first = await node.publisher.publish(channel, publication(channel, dataJson, fromJson, 's-1'), KEEP);
        const second = await node.publisher.publish(channel, publication(channel, '7', 'null', null), KEEP);
        assert.equal(first.offset, 1);
        assert.deepEqual(second, { offset: 2, epoch: first.epoch });
        await watcher.until(2, 'both publications');
        const expected = encodeChannelEnvelope(Buffer.from(encodeMessageFrame(channel, 1, first.epoch, dataJson, fromJson)), 's-1', first);
        const decoded = decodeChannelEnvelope(expected)!;
        assert.deepEqual(watcher.arrivals[0], { ...first, exclude: 's-1', frame: decoded.frame.toString('utf8') });
        assert.deepEqual(watcher.arrivals[1], { ...second, exclude: null, frame: encodeMessageFrame(channel, 2, first.epoch, '7', 'null') });
        const page = await node.history.read(channel, { since: { offset: 0, epoch: first.epoch }, limit: 10 });
        assert.deepEqual(page.publications, [
          { offset: 1, dataJson, fromJson },
          { offset: 2, dataJson: '7', fromJson: 'null' },
        ]);
      }));

    it('without history keeps the per-channel counter and epoch, and nothing else', () =>
      withWorld(factory, async (world) => {
        const channel = 'live:ticker';
        const watcher = new ChannelRecorder();
        const node = await world.node('node-a', watcher);
        const other = await world.node('node-b', new ChannelRecorder());
        await node.broker.subscribe(channel);
        const none: HistoryOptions = { size: 0, ttlMs: 60_000 };
        const first = await node.publisher.publish(channel, publication(channel, '1', 'null', null), none);
        const second = await other.publisher.publish(channel, publication(channel, '2', 'null', null), none);
        assert.deepEqual(second, { offset: first.offset + 1, epoch: first.epoch });
        await watcher.until(2, 'both publications');
        assert.deepEqual(watcher.arrivals.map((arrival) => arrival.offset), [first.offset, second.offset]);
        assert.deepEqual(watcher.arrivals.map((arrival) => arrival.frame), [
          encodeMessageFrame(channel, first.offset, first.epoch, '1', 'null'),
          encodeMessageFrame(channel, second.offset, second.epoch, '2', 'null'),
        ]);
        const page = await node.history.read(channel, { limit: 10 });
        assert.deepEqual({ offset: page.offset, epoch: page.epoch, kept: page.publications.length }, { ...second, kept: 0 });
      }));
  });
}
