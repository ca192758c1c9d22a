import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  CloseCode,
  type LostRange,
  type RecoveredEvent,
  type RecoveryFailedEvent,
  type Subscription,
  type WsgateClient,
} from '../../src/client/index.js';
import { MAX_HELD } from '../../src/client/sequencer.js';
import { createClient, nextStatus, ScriptedGateway, type Frame, type ScriptedSession } from './scripted-gateway.js';

/** What a subscription reported, in order: offsets delivered (`e1:4`) and ranges lost (`lost e1:5-7`, `lost e1:8-`). */
type Log = string[];
const waiters = new WeakMap<Log, Array<() => void>>();

function record(sub: Subscription): Log {
  const log: Log = [];
  const push = (entry: string) => {
    log.push(entry);
    for (const wake of waiters.get(log)?.splice(0) ?? []) wake();
  };
  sub.on('message', (p) => push(`${p.epoch}:${p.offset}`));
  sub.on('lost', (r: LostRange) => push(`lost ${r.epoch}:${r.from}-${r.to ?? ''}`));
  return log;
}

function message(offset: number, epoch = 'e1'): Frame {
  return { type: 'message', channel: 'chat:lobby', offset, epoch, data: `d${offset}`, from: null };
}

function historyReply(request: Frame, offsets: number[], extra: Record<string, unknown> = {}): Frame {
  const epoch = (request.since as { epoch: string }).epoch;
  return {
    type: 'history', id: request.id, channel: 'chat:lobby', offset: 100, epoch, recovered: true,
    publications: offsets.map((offset) => message(offset, epoch)), ...extra,
  };
}

/** Resolves once `log` holds `count` entries. */
async function until(log: Log, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (log.length < count) {
    assert.ok(Date.now() < deadline, `expected ${count} entries, got ${JSON.stringify(log)}`);
    await new Promise<void>((resolve) => {
      if (!waiters.has(log)) waiters.set(log, []);
      waiters.get(log)!.push(resolve);
      setTimeout(resolve, 100).unref();
    });
  }
}

describe('client: offsets in order, gaps filled from history, losses reported', () => {
  let gateway: ScriptedGateway;
  let client: WsgateClient;
  let session: ScriptedSession;

  async function subscribed(offset = 3, epoch = 'e1'): Promise<{ sub: Subscription; log: Log }> {
    ({ client } = createClient(gateway.url));
    const connected = nextStatus(client, 'connected');
    client.connect();
    session = await gateway.nextSession();
    session.welcome('s1');
    await connected;
    const sub = client.subscribe('chat:lobby');
    const log = record(sub);
    const request = await session.expect('subscribe');
    session.send({ type: 'subscribed', id: request.id, channel: 'chat:lobby', offset, epoch });
    await sub.ready;
    return { sub, log };
  }

  /** Drops the connection; returns the `subscribe` the client sends on the next one. */
  async function resubscribed(): Promise<Frame> {
    session.close(CloseCode.SERVICE_RESTART);
    session = await gateway.nextSession();
    session.welcome('s2');
    return session.expect('subscribe');
  }

  beforeEach(async () => {
    gateway = await ScriptedGateway.start();
  });
  afterEach(async () => {
    client.disconnect();
    await gateway.close();
  });

  it('a jump in offsets is filled from history before the later publications, in order; duplicates are ignored', async () => {
    const { sub, log } = await subscribed(3);
    session.send(message(4));
    session.send(message(4));
    session.send(message(7));
    session.send(message(8));
    const request = await session.expect('history');
    assert.deepEqual([request.since, request.limit], [{ offset: 4, epoch: 'e1' }, 2]);
    assert.deepEqual(log, ['e1:4'], 'held back until the gap is filled');
    session.send(historyReply(request, [5, 6]));
    session.send(message(6));
    await until(log, 4);
    assert.deepEqual(log, ['e1:4', 'e1:5', 'e1:6', 'e1:7', 'e1:8']);
    assert.deepEqual(sub.position, { offset: 8, epoch: 'e1' });
  });

  it('fills a gap page by page when history replies say more', async () => {
    const { log } = await subscribed(0);
    session.send(message(6));
    const first = await session.expect('history');
    assert.deepEqual([first.since, first.limit], [{ offset: 0, epoch: 'e1' }, 5]);
    session.send(historyReply(first, [1, 2], { more: true }));
    const second = await session.expect('history');
    assert.deepEqual([second.since, second.limit], [{ offset: 2, epoch: 'e1' }, 3]);
    session.send(historyReply(second, [3, 4, 5]));
    await until(log, 6);
    assert.deepEqual(log, ['e1:1', 'e1:2', 'e1:3', 'e1:4', 'e1:5', 'e1:6']);
  });

  it('reports the part of a gap history no longer has, exactly, and delivers the rest', async () => {
    const { log } = await subscribed(3);
    session.send(message(10));
    const request = await session.expect('history');
    session.send(historyReply(request, [7, 8, 9], { recovered: false }));
    await until(log, 4);
    assert.deepEqual(log, ['lost e1:4-6', 'e1:7', 'e1:8', 'e1:9', 'e1:10']);
  });

  it('reports a gap lost when history cannot be read (namespace without history), and goes on', async () => {
    const { log } = await subscribed(3);
    session.send(message(6));
    const request = await session.expect('history');
    session.send({ type: 'error', id: request.id, code: 'HISTORY_DISABLED', message: 'no history' });
    await until(log, 2);
    session.send(message(7));
    await until(log, 3);
    assert.deepEqual(log, ['lost e1:4-5', 'e1:6', 'e1:7']);
  });

  it('waits retryAfter when the history read is rate limited, then fills the gap', async () => {
    const { log } = await subscribed(3);
    session.send(message(5));
    const refused = await session.expect('history');
    session.send({ type: 'error', id: refused.id, code: 'RATE_LIMITED', message: 'later', retryAfter: 0.02 });
    const again = await session.expect('history');
    assert.deepEqual(again.since, { offset: 3, epoch: 'e1' });
    session.send(historyReply(again, [4]));
    await until(log, 2);
    assert.deepEqual(log, ['e1:4', 'e1:5']);
  });

  it('gives up a gap when more than MAX_HELD publications wait behind it, and ignores the late history reply', async () => {
    const { log } = await subscribed(3);
    session.send(message(5));
    const request = await session.expect('history');
    for (let offset = 6; offset <= 5 + MAX_HELD; offset++) session.send(message(offset));
    await until(log, MAX_HELD + 2);
    session.send(historyReply(request, [4]));
    session.send(message(6 + MAX_HELD));
    await until(log, MAX_HELD + 3);
    assert.deepEqual(log.slice(0, 2), ['lost e1:4-4', 'e1:5']);
    assert.deepEqual(log.at(-1), `e1:${6 + MAX_HELD}`);
    assert.equal(log.length, MAX_HELD + 3);
  });

  it('reports the gateway\'s lost frame as a lost event in order, and delivers what follows', async () => {
    const { log } = await subscribed(3);
    session.send(message(4));
    session.send({ type: 'lost', channel: 'chat:lobby', epoch: 'e1', from: 5, to: 6 });
    session.send(message(7));
    await until(log, 3);
    assert.deepEqual(log, ['e1:4', 'lost e1:5-6', 'e1:7']);
  });

  it('a lost frame to null ends the epoch; the new epoch is read from its start', async () => {
    const { sub, log } = await subscribed(3);
    session.send({ type: 'lost', channel: 'chat:lobby', epoch: 'e1', from: 4, to: null });
    session.send(message(9, 'e1'));
    session.send(message(3, 'e2'));
    const request = await session.expect('history');
    assert.deepEqual([request.since, request.limit], [{ offset: 0, epoch: 'e2' }, 2]);
    session.send(historyReply(request, [1, 2]));
    await until(log, 4);
    assert.deepEqual(log, ['lost e1:4-', 'e2:1', 'e2:2', 'e2:3']);
    assert.deepEqual(sub.position, { offset: 3, epoch: 'e2' });
  });

  it('a new epoch on a live subscription is a reported loss of the rest of the old one', async () => {
    const { log } = await subscribed(3);
    session.send(message(4));
    session.send(message(1, 'e2'));
    session.send(message(5, 'e1'));
    session.send(message(2, 'e2'));
    await until(log, 4);
    assert.deepEqual(log, ['e1:4', 'lost e1:5-', 'e2:1', 'e2:2']);
  });

  it('this client\'s own publications are no gap', async () => {
    const { log } = await subscribed(3);
    const published = client.publish('chat:lobby', 'mine');
    const publish = await session.expect('publish');
    session.send({ type: 'published', id: publish.id, channel: 'chat:lobby', offset: 4, epoch: 'e1' });
    await published;
    session.send(message(5));
    await until(log, 1);
    assert.deepEqual(log, ['e1:5']);
  });

  it('a paged recovery reads the rest from history, holds live publications back, then says recovered', async () => {
    const { sub, log } = await subscribed(3);
    const recovered = new Promise<RecoveredEvent>((resolve) => sub.once('recovered', resolve));
    const resubscribe = await resubscribed();
    assert.deepEqual(resubscribe.recover, { offset: 3, epoch: 'e1' });
    session.send({
      type: 'subscribed', id: resubscribe.id, channel: 'chat:lobby', offset: 9, epoch: 'e1', recovered: true, more: true,
      publications: [message(4), message(5)],
    });
    session.send(message(10));
    const request = await session.expect('history');
    assert.deepEqual([request.since, request.limit], [{ offset: 5, epoch: 'e1' }, 4]);
    assert.deepEqual(log, ['e1:4', 'e1:5']);
    session.send(historyReply(request, [6, 7, 8, 9]));
    assert.deepEqual(await recovered, { from: { offset: 3, epoch: 'e1' }, publications: 6 });
    await until(log, 7);
    assert.deepEqual(log, ['e1:4', 'e1:5', 'e1:6', 'e1:7', 'e1:8', 'e1:9', 'e1:10']);
  });

  it('a paged recovery that loses the race with the history window reports the loss and recovery-failed', async () => {
    const { sub, log } = await subscribed(3);
    const failed = new Promise<RecoveryFailedEvent>((resolve) => sub.once('recovery-failed', resolve));
    const resubscribe = await resubscribed();
    session.send({ type: 'subscribed', id: resubscribe.id, channel: 'chat:lobby', offset: 9, epoch: 'e1', recovered: true, more: true, publications: [] });
    const request = await session.expect('history');
    session.send(historyReply(request, [8, 9], { recovered: false }));
    assert.deepEqual(await failed, { from: { offset: 3, epoch: 'e1' }, position: { offset: 9, epoch: 'e1' } });
    assert.deepEqual(log, ['lost e1:4-7', 'e1:8', 'e1:9']);
  });

  it('a failed recovery reports exactly what is lost: the rest of the old epoch and the new one up to its position', async () => {
    const { sub, log } = await subscribed(3);
    const failed = new Promise<RecoveryFailedEvent>((resolve) => sub.once('recovery-failed', resolve));
    const resubscribe = await resubscribed();
    session.send({ type: 'subscribed', id: resubscribe.id, channel: 'chat:lobby', offset: 2, epoch: 'e2', recovered: false });
    await failed;
    session.send(message(3, 'e2'));
    await until(log, 3);
    assert.deepEqual(log, ['lost e1:4-', 'lost e2:1-2', 'e2:3']);
  });

  it('a connection lost during a gap fill recovers from the last delivered position', async () => {
    const { log } = await subscribed(3);
    session.send(message(6));
    await session.expect('history');
    const resubscribe = await resubscribed();
    assert.deepEqual(resubscribe.recover, { offset: 3, epoch: 'e1' });
    session.send({ type: 'subscribed', id: resubscribe.id, channel: 'chat:lobby', offset: 6, epoch: 'e1', recovered: true, publications: [4, 5, 6].map((n) => message(n)) });
    await until(log, 3);
    assert.deepEqual(log, ['e1:4', 'e1:5', 'e1:6']);
  });
});
