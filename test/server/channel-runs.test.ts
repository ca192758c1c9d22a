/**
 * Channel runs: the publications one channel fans out in one event-loop turn are shared by the subscribers that had
 * nothing else queued, instead of being queued per subscriber. Each test drives several publications, direct frames,
 * an unsubscribe, an exclusion or a close into one turn (synchronously, as the broker's messages of one read arrive)
 * and checks every subscriber's frames: each one's in the order they were sent to it, none missing, none extra.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Disconnects } from '../../src/protocol/close-codes.js';
import type { StreamPosition } from '../../src/protocol/frames.js';
import { encodeNodeFrame } from '../../src/server/codec/node-frames.js';
import type { Session } from '../../src/server/session/session.js';
import { arrive as arriveAt } from '../helpers/channel-arrivals.js';
import { connectAs, type Frame, type TestClient } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { within } from '../support/wait.js';

describe('publications of one turn shared by a channel\'s subscribers', () => {
  let running: RunningGateway;
  const clients: TestClient[] = [];
  let counter = 0;

  before(async () => {
    running = await startGateway({
      delivery: { reorderWindowMs: 60_000, tailCheckMs: 0 },
      namespaces: { chat: { publish: true, history: { size: 100, ttlSeconds: 60 } } },
    });
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await running.stop();
  });

  async function reader(...channels: string[]): Promise<{ client: TestClient; session: Session; user: string }> {
    const user = `reader-${++counter}`;
    const client = await connectAs(running, user);
    clients.push(client);
    for (const channel of channels) await client.subscribe(channel);
    return { client, session: running.gateway.hub.sessions.get(client.welcome!.session as string)!, user };
  }

  async function append(channel: string): Promise<StreamPosition> {
    return running.gateway.engine.history.append(channel, { dataJson: `{"n":${++counter}}`, fromJson: 'null' }, { size: 100, ttlMs: 60_000 });
  }

  /** Positions appended ahead, so that their arrivals can all be handed over in one turn. */
  async function positions(channel: string, count: number): Promise<StreamPosition[]> {
    const out: StreamPosition[] = [];
    for (let i = 0; i < count; i++) out.push(await append(channel));
    return out;
  }

  /** The broker message of an appended publication arrives at this node (`exclude`: the publisher's session). */
  const arrive = (channel: string, position: StreamPosition, exclude: string | null = null) => arriveAt(running, channel, position, exclude);

  function direct(user: string, note: string): void {
    running.gateway.node.delivery.deliverToLocalUser(user, encodeNodeFrame({ type: 'direct', from: { user: 'ops', session: 'none' }, to: user, data: note }));
  }

  /** What a client received, as `channel:offset` for publications and `direct:note` for direct frames. */
  const stream = (client: TestClient) => client.frames
    .filter((frame) => frame.type === 'message' || frame.type === 'direct' || frame.type === 'disconnect')
    .map((frame: Frame) => (frame.type === 'message' ? `${frame.channel as string}:${frame.offset as number}` : `${frame.type}:${String(frame.data ?? frame.code)}`));

  /** A direct frame sent in a later turn: once it is read, everything of the turn before it has been. */
  async function settled(client: TestClient, user: string): Promise<void> {
    const note = `settled-${++counter}`;
    direct(user, note);
    await client.seen('direct', (frame) => frame.data === note);
  }

  const without = (frames: string[]) => frames.filter((frame) => !frame.startsWith('direct:settled-'));

  test('publications of two channels and direct frames in one turn reach each session in the order they were sent', async () => {
    const [a, b] = ['chat:runs-a', 'chat:runs-b'];
    const both = await reader(a, b);
    const onlyA = await reader(a);
    const bothToo = await reader(a, b);
    const [a1, a2, a3, a4] = await positions(a, 4);
    const [b1, b2] = await positions(b, 2);

    arrive(a, a1!);
    arrive(a, a2!);
    direct(both.user, 'between');
    arrive(b, b1!);
    arrive(a, a3!);
    arrive(b, b2!);
    arrive(a, a4!);

    for (const { client, user } of [both, onlyA, bothToo]) await settled(client, user);
    assert.deepEqual(without(stream(both.client)), [`${a}:1`, `${a}:2`, 'direct:between', `${b}:1`, `${a}:3`, `${b}:2`, `${a}:4`]);
    assert.deepEqual(without(stream(onlyA.client)), [`${a}:1`, `${a}:2`, `${a}:3`, `${a}:4`]);
    assert.deepEqual(without(stream(bothToo.client)), [`${a}:1`, `${a}:2`, `${b}:1`, `${a}:3`, `${b}:2`, `${a}:4`]);
  });

  test('a subscriber that leaves in the middle of a turn gets what came before, nothing after', async () => {
    const channel = 'chat:runs-leave';
    const leaving = await reader(channel);
    const staying = await reader(channel);
    const [p1, p2, p3] = await positions(channel, 3);

    arrive(channel, p1!);
    arrive(channel, p2!);
    void running.gateway.node.channels.endSubscription(leaving.session, channel);
    arrive(channel, p3!);

    await settled(leaving.client, leaving.user);
    await settled(staying.client, staying.user);
    assert.deepEqual(without(stream(leaving.client)), [`${channel}:1`, `${channel}:2`]);
    assert.deepEqual(without(stream(staying.client)), [`${channel}:1`, `${channel}:2`, `${channel}:3`]);
  });

  test('the publisher excluded from one publication of the turn gets the others', async () => {
    const channel = 'chat:runs-exclude';
    const publisher = await reader(channel);
    const other = await reader(channel);
    const [p1, p2, p3] = await positions(channel, 3);

    arrive(channel, p1!);
    arrive(channel, p2!, publisher.session.id);
    arrive(channel, p3!);

    await settled(publisher.client, publisher.user);
    await settled(other.client, other.user);
    assert.deepEqual(without(stream(publisher.client)), [`${channel}:1`, `${channel}:3`]);
    assert.deepEqual(without(stream(other.client)), [`${channel}:1`, `${channel}:2`, `${channel}:3`]);
  });

  test('a session the gateway closes in the middle of a turn reads what came before, then why it ends', async () => {
    const channel = 'chat:runs-close';
    const closing = await reader(channel);
    const other = await reader(channel);
    const [p1, p2, p3] = await positions(channel, 3);

    arrive(channel, p1!);
    arrive(channel, p2!);
    running.gateway.node.disconnect(closing.session, Disconnects.KICKED);
    arrive(channel, p3!);

    await within(closing.client.closed, 10_000, 'the closed session to close');
    await settled(other.client, other.user);
    assert.deepEqual(stream(closing.client), [`${channel}:1`, `${channel}:2`, `disconnect:${Disconnects.KICKED.code}`]);
    assert.deepEqual(without(stream(other.client)), [`${channel}:1`, `${channel}:2`, `${channel}:3`]);
  });

  test('random turns of publications, exclusions, direct frames and unsubscribes match a model of what each session is owed', async () => {
    const channels = ['chat:model-a', 'chat:model-b', 'chat:model-c'];
    const readers = await Promise.all(Array.from({ length: 6 }, () => reader()));
    const random = seeded(0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    /** Per reader: the channels it is subscribed to now, and everything it is owed, in the order it was sent. */
    const subscribed = readers.map(() => new Set<string>());
    const owed: string[][] = readers.map(() => []);
    const subscribe = async (index: number, channel: string) => {
      await readers[index]!.client.subscribe(channel);
      subscribed[index]!.add(channel);
    };
    for (let index = 0; index < readers.length; index++) for (const channel of channels) if (random() < 0.7) await subscribe(index, channel);

    for (let round = 0; round < 40; round++) {
      // Between turns, some readers come back to channels they left.
      for (let index = 0; index < readers.length; index++) {
        for (const channel of channels) if (!subscribed[index]!.has(channel) && random() < 0.3) await subscribe(index, channel);
      }
      const publications = new Map<string, StreamPosition[]>();
      for (const channel of channels) publications.set(channel, await positions(channel, 1 + Math.floor(random() * 6)));
      // One turn: every channel's publications in order, interleaved at random with the rest.
      const steps = [...publications].flatMap(([channel, list]) => list.map((position) => ({ channel, position })));
      while (steps.length > 0) {
        const roll = random();
        if (roll < 0.1) {
          const index = Math.floor(random() * readers.length);
          const note = `r${round}-${++counter}`;
          direct(readers[index]!.user, note);
          owed[index]!.push(`direct:${note}`);
        } else if (roll < 0.17) {
          const index = Math.floor(random() * readers.length);
          const channel = pick(channels);
          if (!subscribed[index]!.delete(channel)) continue;
          void running.gateway.node.channels.endSubscription(readers[index]!.session, channel);
        } else {
          // The next publication of a channel (offsets stay in order per channel); sometimes a reader is its sender.
          const channel = pick([...new Set(steps.map((step) => step.channel))]);
          const step = steps.splice(steps.findIndex((candidate) => candidate.channel === channel), 1)[0]!;
          const excluded = random() < 0.2 ? Math.floor(random() * readers.length) : -1;
          arrive(channel, step.position, excluded < 0 ? null : readers[excluded]!.session.id);
          for (let index = 0; index < readers.length; index++) {
            if (index !== excluded && subscribed[index]!.has(channel)) owed[index]!.push(`${channel}:${step.position.offset}`);
          }
        }
      }
      for (const { client, user } of readers) await settled(client, user);
    }
    for (let index = 0; index < readers.length; index++) {
      assert.deepEqual(without(stream(readers[index]!.client)), owed[index], `reader ${index}: every frame it was owed, once, in order`);
    }
  });

  test('publications spread over turns, with a subscriber that joined between them, reach everyone once', async () => {
    const channel = 'chat:runs-turns';
    const early = await reader(channel);
    const [p1, p2] = await positions(channel, 2);
    arrive(channel, p1!);
    arrive(channel, p2!);
    await early.client.seen('message', (frame) => frame.channel === channel && frame.offset === 2);
    const late = await reader(channel);
    const [p3, p4] = await positions(channel, 2);
    arrive(channel, p3!);
    arrive(channel, p4!);

    await settled(early.client, early.user);
    await settled(late.client, late.user);
    assert.deepEqual(without(stream(early.client)), [1, 2, 3, 4].map((n) => `${channel}:${n}`));
    assert.deepEqual(without(stream(late.client)), [`${channel}:3`, `${channel}:4`]);
  });
});

/** A small deterministic generator (mulberry32), so a failing sequence can be run again. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
