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
