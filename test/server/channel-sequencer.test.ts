import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamPosition } from '../../src/protocol/frames.js';
import { MemoryHistoryState, MemoryHistoryStore } from '../../src/server/engine/history/memory.js';
import {
  ChannelSequencer, SequencerStats, type SequencerOptions, type SequencerTimers, type StreamReader,
} from '../../src/server/node/channel-sequencer.js';
import { encodeMessageFrame } from '../../src/server/codec/wsgate-v1/server-frames.js';

const CHANNEL = 'chat:ordered';
const OPTIONS: SequencerOptions = { reorderWindowMs: 200, maxBufferedPublications: 100, maxBufferedBytes: 1 << 20 };

/** Timers that fire only when the test moves the clock. */
class ManualTimers implements SequencerTimers {
  private now = 0;
  private next = 0;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = ++this.next;
    this.pending.set(handle, { at: this.now + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get armed(): number {
    return this.pending.size;
  }

  /** Moves the clock, firing what falls due, then lets the history reads they started finish. */
  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (const [handle, timer] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.now) continue;
      this.pending.delete(handle);
      timer.callback();
    }
    await settled();
  }
}

/** Lets in-flight reads of the memory store (promises, no I/O) finish. */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

type Event = { pub: number; epoch: string; exclude: string | null; frame: string } | { lost: [number, number | null]; epoch: string };

/** A real memory history store, with the reads the sequencer made counted. */
function world(options: Partial<SequencerOptions> = {}, historySize = 50) {
  const state = new MemoryHistoryState();
  const store = new MemoryHistoryStore(state);
  const reads: StreamPosition[] = [];
  let failing = false;
  const reader: StreamReader = {
    async read(channel, query) {
      reads.push(query.since!);
      if (failing) throw new Error('store unreachable');
      return store.read(channel, query);
    },
    position: (channel) => (failing ? Promise.reject(new Error('store unreachable')) : store.position(channel)),
  };
  const events: Event[] = [];
  const timers = new ManualTimers();
  const stats = new SequencerStats();
  const sequencer = new ChannelSequencer(CHANNEL, {
    publication: (position, frame, exclude) => events.push({ pub: position.offset, epoch: position.epoch, exclude, frame: frame.toString() }),
    lost: (epoch, from, to) => events.push({ lost: [from, to], epoch }),
  }, reader, { ...OPTIONS, ...options }, stats, timers);
  /** Appends a publication to the store, as a publishing node does; returns it as the broker would carry it. */
  async function publish(data: unknown = null, session: string | null = null) {
    const fromJson = session ? JSON.stringify({ user: 'u', session }) : 'null';
    const dataJson = JSON.stringify(data);
    const position = await store.append(CHANNEL, { dataJson, fromJson }, { size: historySize, ttlMs: 60_000 });
    const frame = Buffer.from(encodeMessageFrame(CHANNEL, position.offset, position.epoch, dataJson, fromJson));
    return { position, frame, exclude: session };
  }
  const push = (publication: Awaited<ReturnType<typeof publish>>) => sequencer.push(publication.position, publication.frame, publication.exclude);
  const offsets = () => events.map((event) => ('pub' in event ? event.pub : `lost ${event.lost[0]}-${event.lost[1] ?? '*'}`));
  return {
    state, store, reads, events, timers, stats, sequencer, publish, push, offsets,
    fail: (value: boolean) => (failing = value),
    close: () => store.close(),
  };
}

async function publishMany(w: ReturnType<typeof world>, count: number, session: string | null = null) {
  const out = [];
  for (let i = 0; i < count; i++) out.push(await w.publish({ n: i + 1 }, session));
  return out;
}

describe('channel sequencer', () => {
  test('publications in order go out at once, with no timer and no history read', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    for (const publication of await publishMany(w, 3)) w.push(publication);
    assert.deepEqual(w.offsets(), [1, 2, 3]);
    assert.equal(w.timers.armed, 0);
    assert.equal(w.reads.length, 0);
    assert.equal(w.stats.inOrder, 3);
    await w.close();
  });

  test('a reordering that closes within the window is put right without reading history', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1, p2, p3, p4] = await publishMany(w, 4);
    w.push(p1!);
    w.push(p3!);
    w.push(p4!);
    assert.deepEqual(w.offsets(), [1], '3 and 4 wait for 2');
    assert.equal(w.stats.buffered, 2);
    await w.timers.advance(199);
    w.push(p2!);
    assert.deepEqual(w.offsets(), [1, 2, 3, 4]);
    assert.equal(w.timers.armed, 0, 'the window is cancelled when the gap closes');
    await w.timers.advance(1_000);
    assert.equal(w.reads.length, 0);
    assert.deepEqual({ inOrder: w.stats.inOrder, reordered: w.stats.reordered, buffered: w.stats.buffered }, { inOrder: 2, reordered: 2, buffered: 0 });
    await w.close();
  });

  test('a gap still open after the window is filled from history, the publisher still excluded', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1, p2, p3] = await publishMany(w, 3, 'publisher-session');
    w.push(p1!);
    w.push(p3!);
    await w.timers.advance(199);
    assert.deepEqual(w.offsets(), [1]);
    await w.timers.advance(1);
    assert.deepEqual(w.offsets(), [1, 2, 3]);
    assert.deepEqual(w.reads, [{ offset: 1, epoch: p1!.position.epoch }], 'one read, since the last delivered offset');
    const filled = w.events[1] as Extract<Event, { pub: number }>;
    assert.equal(filled.frame, p2!.frame.toString(), 'the frame rebuilt from history is byte for byte the live one');
    assert.equal(filled.exclude, 'publisher-session');
    assert.equal(w.stats.filled, 1);
    // The live copy that finally arrives is a duplicate.
    w.push(p2!);
    assert.equal(w.events.length, 3);
    assert.equal(w.stats.duplicates, 1);
    await w.close();
  });

  test('what history no longer keeps is announced as exactly the missing range, then delivery continues', async () => {
    const w = world({}, 2);
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1, , , , p5, p6] = await publishMany(w, 6);
    w.push(p1!);
    w.push(p6!);
    // History keeps 5 and 6 only: 2..4 are gone.
    await w.timers.advance(200);
    assert.deepEqual(w.offsets(), [1, 'lost 2-4', 5, 6]);
    assert.equal((w.events[1] as Extract<Event, { lost: unknown }>).epoch, p1!.position.epoch);
    assert.deepEqual({ lostOffsets: w.stats.lostOffsets, lostNotices: w.stats.lostNotices }, { lostOffsets: 3, lostNotices: 1 });
    w.push(p5!);
    assert.equal(w.events.length, 4, 'a late copy of a filled offset is dropped');
    await w.close();
  });

  test('an unreachable store turns the gap into a lost range instead of waiting without bound', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1, , p3] = await publishMany(w, 3);
    w.push(p1!);
    w.push(p3!);
    w.fail(true);
    await w.timers.advance(200);
    assert.deepEqual(w.offsets(), [1, 'lost 2-2', 3]);
    await w.close();
  });

  test('a full buffer resolves the gap at once, without waiting for the window', async () => {
    const w = world({ maxBufferedPublications: 3 });
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const published = await publishMany(w, 6);
    w.push(published[0]!);
    for (const publication of published.slice(2)) w.push(publication);
    await settled();
    assert.deepEqual(w.offsets(), [1, 2, 3, 4, 5, 6], 'the fourth publication ahead overflowed the bound of 3');
    assert.equal(w.reads.length, 1);
    await w.close();
  });

  test('a byte bound overflows like the count bound', async () => {
    const w = world({ maxBufferedBytes: 1024 });
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const big = 'x'.repeat(600);
    const published = [];
    for (let i = 0; i < 4; i++) published.push(await w.publish(big));
    w.push(published[0]!);
    w.push(published[2]!);
    assert.equal(w.reads.length, 0, 'one frame of 600 bytes fits');
    w.push(published[3]!);
    await settled();
    assert.deepEqual(w.offsets(), [1, 2, 3, 4]);
    await w.close();
  });

  test('a buffer that overflows again while the read is out stops waiting at twice its bound', async () => {
    const w = world({ maxBufferedPublications: 2 });
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const published = await publishMany(w, 8);
    w.push(published[0]!);
    // 3, 4, 5 overflow (read starts); 6 and 7 bring it past twice the bound before the read answers.
    for (const publication of published.slice(2, 7)) w.push(publication);
    assert.deepEqual(w.offsets(), [1, 'lost 2-2', 3, 4, 5, 6, 7]);
    await settled();
    w.push(published[7]!);
    assert.deepEqual(w.offsets(), [1, 'lost 2-2', 3, 4, 5, 6, 7, 8], 'the superseded read changes nothing');
    await w.close();
  });

  test('duplicates and old offsets are dropped and counted', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1, p2, , p4] = await publishMany(w, 4);
    w.push(p1!);
    w.push(p1!);
    w.push(p2!);
    w.push(p4!);
    w.push(p4!);
    w.push(p1!);
    assert.deepEqual(w.offsets(), [1, 2]);
    assert.equal(w.stats.duplicates, 3, 'twice 1 and a second 4 waiting in the buffer');
    await w.close();
  });

  test('a new epoch ends the old one with an open-ended lost and continues from its offset 1', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1, , p3] = await publishMany(w, 3);
    w.push(p1!);
    w.push(p3!);
    // The store lost the stream (Redis restarted empty): the next append starts a new epoch.
    w.state.streams.delete(CHANNEL);
    const [q1, q2] = await publishMany(w, 2);
    const oldEpoch = p1!.position.epoch;
    const newEpoch = q1!.position.epoch;
    assert.notEqual(newEpoch, oldEpoch);
    w.push(q1!);
    assert.deepEqual(w.events.map((event) => ('pub' in event ? `${event.epoch}:${event.pub}` : `${event.epoch}:lost ${event.lost.join('-')}`)), [
      `${oldEpoch}:1`, `${oldEpoch}:lost 2-2`, `${oldEpoch}:3`, `${oldEpoch}:lost 4-`, `${newEpoch}:1`,
    ]);
    // A publication of the old epoch still on its way is covered by the lost already sent.
    w.push({ ...p3!, position: { offset: 4, epoch: oldEpoch } });
    w.push(q2!);
    assert.deepEqual(w.offsets().slice(5), [2]);
    assert.equal(w.stats.stale, 1);
    assert.equal(w.timers.armed, 0);
    await w.close();
  });

  test('a new epoch seen first ahead of its offset 1 waits, then is filled from the new stream', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1] = await publishMany(w, 1);
    w.push(p1!);
    w.state.streams.delete(CHANNEL);
    const [, q2] = await publishMany(w, 2);
    w.push(q2!);
    await w.timers.advance(200);
    assert.deepEqual(w.offsets(), [1, 'lost 2-*', 1, 2]);
    assert.equal(w.reads.at(-1)!.offset, 0, 'read from the start of the new epoch');
    await w.close();
  });

  test('publications that arrive before the anchor are held and sorted against it', async () => {
    const w = world();
    const [, p2, p3, p4] = await publishMany(w, 4);
    const anchor = { offset: 2, epoch: p2!.position.epoch };
    w.push(p4!);
    w.push(p2!);
    assert.equal(w.events.length, 0, 'nothing goes out before the anchor');
    w.sequencer.anchor(anchor);
    assert.deepEqual(w.offsets(), [], '2 is at the anchor; 4 waits for 3');
    w.push(p3!);
    assert.deepEqual(w.offsets(), [3, 4]);
    await w.close();
  });

  test('without a readable store the sequencer anchors on the first subscriber position or publication', async () => {
    const w = world();
    const published = await publishMany(w, 3);
    w.sequencer.anchor(null);
    w.push(published[1]!);
    w.push(published[2]!);
    assert.deepEqual(w.offsets(), [2, 3]);
    assert.equal(w.sequencer.position?.base, 1, 'a subscriber below offset 1 is told it lost it');
    await w.close();
  });

  test('after a broker reconnect the sequencer catches up with the store from history', async () => {
    const w = world({}, 2);
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1] = await publishMany(w, 5);
    w.push(p1!);
    // 2..5 were published while the broker connection was down; history keeps 4 and 5.
    await w.sequencer.resync();
    assert.deepEqual(w.offsets(), [1, 'lost 2-3', 4, 5]);
    await w.sequencer.resync();
    assert.equal(w.events.length, 4, 'nothing more to do');
    await w.close();
  });

  test('after a store restart that lost the stream, resync ends the old epoch and reads the new one', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1] = await publishMany(w, 1);
    w.push(p1!);
    w.state.streams.delete(CHANNEL);
    const [q1] = await publishMany(w, 1);
    await w.sequencer.resync();
    assert.deepEqual(w.events.map((event) => ('pub' in event ? `${event.epoch}:${event.pub}` : `${event.epoch}:lost ${event.lost.join('-')}`)), [
      `${p1!.position.epoch}:1`, `${p1!.position.epoch}:lost 2-`, `${q1!.position.epoch}:1`,
    ]);
    await w.close();
  });

  test('a closed sequencer drops everything and its window never fires', async () => {
    const w = world();
    w.sequencer.anchor(await w.store.position(CHANNEL));
    const [p1, , p3] = await publishMany(w, 3);
    w.push(p1!);
    w.push(p3!);
    w.sequencer.close();
    await w.timers.advance(1_000);
    w.push(p3!);
    assert.deepEqual(w.offsets(), [1]);
    assert.equal(w.stats.buffered, 0);
    await w.close();
  });
});
