import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import {
  type ClientStatus,
  type LostRange,
  type Publication,
  type RecoveredEvent,
  type Subscription,
  WsgateClient,
} from '../../src/client/index.js';
import { api } from '../api/api-client.js';
import { mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { within } from '../support/wait.js';

/** The SDK's ordering, gap filling and paged recovery against the real gateway (memory engine, default byte bounds). */

describe('client ordering against the real gateway', () => {
  let running: RunningGateway;
  const clients: WsgateClient[] = [];

  before(async () => {
    running = await startGateway({
      namespaces: { big: { publish: true, history: { size: 100, ttlSeconds: 300 } } },
      limits: { rate: { subscribe: { rate: 1e6, burst: 1e6 } } },
    });
  });
  after(() => running.stop());
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  async function connected(user: string): Promise<{ client: WsgateClient; statuses: ClientStatus[] }> {
    const client = new WsgateClient({ url: running.wsUrl, WebSocket, getTicket: () => mintTicket(running, user), backoff: { minDelay: 20, maxDelay: 100 } });
    clients.push(client);
    const statuses: ClientStatus[] = [];
    client.on('status', (status) => statuses.push(status));
    const up = new Promise<void>((resolve) => client.on('status', (status) => status.type === 'connected' && resolve()));
    client.connect();
    await within(up, 5_000, 'connected');
    return { client, statuses };
  }

  function record(sub: Subscription): { offsets: number[]; lost: LostRange[]; reached: (offset: number) => Promise<void> } {
    const offsets: number[] = [];
    const lost: LostRange[] = [];
    let wake: (() => void) | undefined;
    sub.on('message', (p: Publication) => {
      offsets.push(p.offset);
      wake?.();
    });
    sub.on('lost', (range) => {
      lost.push(range);
      wake?.();
    });
    const reached = async (offset: number) => {
      const deadline = Date.now() + 20_000;
      while ((sub.position?.offset ?? 0) < offset) {
        assert.ok(Date.now() < deadline, `position ${sub.position?.offset} never reached ${offset}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 200).unref();
        });
      }
    };
    return { offsets, lost, reached };
  }

  async function publish(channel: string, data: unknown): Promise<{ offset: number; epoch: string }> {
    const answer = await api(running, 'POST', '/api/publish', { channel, data });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body as { offset: number; epoch: string };
  }

  /** Keeps publications in history without delivering them: what a subscriber sees when the broker lost them. */
  async function keepOnly(channel: string, count: number, size: number): Promise<void> {
    for (let n = 0; n < count; n++) {
      await running.gateway.engine.history.append(channel, { dataJson: JSON.stringify({ hidden: n }), fromJson: 'null' }, { size, ttlMs: 300_000 });
    }
  }

  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('recovers 60 × 20 KB missed while offline in pages, in order, without an eviction', async () => {
    const { client, statuses } = await connected('pager');
    const sub = client.subscribe('big:sdk-recover');
    await sub.ready;
    const seen = record(sub);
    const start = sub.position!.offset;
    client.disconnect();
    for (let n = 1; n <= 60; n++) await publish('big:sdk-recover', { n, pad: 'x'.repeat(20_000) });
    const recovered = new Promise<RecoveredEvent>((resolve) => sub.once('recovered', resolve));
    client.connect();
    const event = await within(recovered, 20_000, 'recovered');
    assert.equal(event.publications, 60);
    assert.deepEqual(seen.offsets, range(start + 1, start + 60));
    assert.deepEqual(seen.lost, []);
    assert.ok(!statuses.some((s) => s.type === 'disconnected' && s.code === 4001), 'never evicted');
    assert.ok(!statuses.some((s) => s.type === 'reconnecting' && statuses.indexOf(s) > 2), 'no reconnect loop');
  });

  it('fills a jump in live offsets from history before delivering the later publication', async () => {
    const { client } = await connected('gap-reader');
    const sub = client.subscribe('chat:sdk-gap');
    await sub.ready;
    const seen = record(sub);
    const first = await publish('chat:sdk-gap', 'one');
    await seen.reached(first.offset);
    await keepOnly('chat:sdk-gap', 3, 50);
    const last = await publish('chat:sdk-gap', 'five');
    await seen.reached(last.offset);
    assert.deepEqual(seen.offsets, range(first.offset, last.offset));
    assert.deepEqual(seen.lost, []);
  });

  it('reports exactly the part of a gap that history no longer holds, and delivers the rest in order', async () => {
    const { client } = await connected('window-reader');
    const sub = client.subscribe('chat:sdk-window');
    await sub.ready;
    const seen = record(sub);
    const first = await publish('chat:sdk-window', 'one');
    await seen.reached(first.offset);
    // chat keeps 50: 120 undelivered publications push the oldest 70 of them out of history.
    await keepOnly('chat:sdk-window', 120, 50);
    const last = await publish('chat:sdk-window', 'last');
    await seen.reached(last.offset);
    const oldestKept = last.offset - 49;
    assert.deepEqual(seen.lost, [{ epoch: first.epoch, from: first.offset + 1, to: oldestKept - 1 }]);
    assert.deepEqual(seen.offsets, [first.offset, ...range(oldestKept, last.offset)]);
  });
});
