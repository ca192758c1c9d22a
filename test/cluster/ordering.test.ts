/**
 * The broker that really reorders: NATS moves the publications while Redis assigns their offsets, in two steps, so two
 * nodes publishing to one channel put offsets on the wire out of order. Three gateway processes on a private
 * nats-server and redis-server; backends publish through two nodes at once (16 requests in flight on each) while raw
 * subscribers on the third record what they get — one of them joining mid-stream. Each must see its channel in
 * strictly increasing offsets, and every accepted offset above its `subscribed` position exactly once or inside a
 * `lost` range. A namespace with history fills the gaps it sees; one without can only announce them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../support/wait.js';
import type { Frame, TestClient } from '../helpers/client.js';
import { startNats, startRedis, type ServerProcess } from '../support/servers.js';
import { ENGINE_SETUPS, NAMESPACES, startCluster, type Cluster, type EngineWorld } from './support/cluster.js';
import { closeAll, connectUser } from './support/clients.js';
import type { NodeProcess } from './support/node.js';

const PER_NODE = 400;
const IN_FLIGHT = 16;

interface Accepted {
  offset: number;
  epoch: string;
}

/** Publishes `count` publications through `node`, `IN_FLIGHT` at a time; returns the positions the node accepted. */
async function publishConcurrently(node: NodeProcess, channel: string, count: number, tag: string, onAccepted?: (total: number) => void): Promise<Accepted[]> {
  const accepted: Accepted[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const seq = next++;
      const { status, body } = await node.api('POST', '/api/publish', { channel, data: { tag, seq } });
      if (status === 200) {
        accepted.push(body as Accepted);
        onAccepted?.(accepted.length);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return accepted;
}

interface Ledger {
  delivered: number[];
  lost: Array<{ from: number; to: number | null }>;
  inversions: number;
  duplicates: number;
}

/** What a raw subscriber received on `channel` in `epoch`, after its `subscribed` reply. */
function ledgerOf(client: TestClient, channel: string, epoch: string): Ledger {
  const delivered: number[] = [];
  const lost: Ledger['lost'] = [];
  let inversions = 0;
  let duplicates = 0;
  let highest = 0;
  for (const frame of client.frames) {
    if (frame.channel !== channel || frame.epoch !== epoch) continue;
    if (frame.type === 'message') {
      const offset = frame.offset as number;
      if (delivered.includes(offset)) duplicates++;
      else if (offset < highest) inversions++;
      highest = Math.max(highest, offset);
      delivered.push(offset);
    } else if (frame.type === 'lost') {
      lost.push({ from: frame.from as number, to: frame.to as number | null });
    }
  }
  return { delivered, lost, inversions, duplicates };
}

function covered(ledger: Ledger, offset: number): boolean {
  return ledger.lost.some((range) => offset >= range.from && (range.to === null || offset <= range.to));
}

/** Waits until every accepted offset above `floor` was delivered or announced lost. */
async function settled(client: TestClient, channel: string, epoch: string, floor: number, accepted: Accepted[], timeoutMs = 20_000): Promise<Ledger> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ledger = ledgerOf(client, channel, epoch);
    const seen = new Set(ledger.delivered);
    const missing = accepted.filter((position) => position.offset > floor && !seen.has(position.offset) && !covered(ledger, position.offset));
    if (missing.length === 0) return ledger;
    if (Date.now() > deadline) {
      const highest = Math.max(0, ...ledger.delivered);
      assert.fail(`${missing.length} accepted offsets neither delivered nor announced lost, e.g. ${missing.slice(0, 10).map((p) => p.offset).join(', ')}; `
        + `highest delivered ${highest} of ${Math.max(...accepted.map((p) => p.offset))}, ${ledger.delivered.length} delivered, lost ${JSON.stringify(ledger.lost)}`);
    }
    await client.next('message', (frame) => frame.channel === channel, Math.max(1, deadline - Date.now())).catch(() => undefined);
  }
}

describe('ordered delivery on NATS with Redis stores', { timeout: 180_000 }, () => {
  let world: EngineWorld;
  let nats: ServerProcess;
  let cluster: Cluster;
  const clients: TestClient[] = [];

  before(async () => {
    const [natsServer, redis] = await Promise.all([startNats(), startRedis()]);
    nats = natsServer;
    world = {
      engine: { kind: 'nats', natsUrls: [nats.url], redisUrls: [redis.url] },
      redis,
      stop: async () => {
        await Promise.all([nats.stop(), redis.stop()]);
      },
    };
    cluster = await startCluster(world, 'ordering', {
      nodes: 3,
      // Three processes starting at once on a busy machine.
      readyTimeoutMs: 60_000,
      // `ticks` keeps no history: its gaps can only be announced.
      config: { namespaces: { ...NAMESPACES, ticks: { publish: true } } },
    });
  });

  after(async () => {
    await closeAll(clients).catch(() => {});
    await cluster?.stop();
    await world?.stop();
  });

  for (const namespace of ['feed', 'ticks']) {
    test(`${namespace}: two nodes publishing at once, raw subscribers on a third see 0 inversions and no silent gap`, async () => {
      const [n1, n2, n3] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
      const channel = `${namespace}:race-${Date.now()}`;
      const early = await connectUser(n1, 'early-reader');
      clients.push(early);
      const earlyReply = await early.subscribe(channel);

      // A second subscriber joins once publishing is well under way.
      let late: { client: TestClient; reply: Frame } | undefined;
      let joining: Promise<void> | undefined;
      const joinMidStream = (total: number) => {
        if (total !== PER_NODE / 4 || joining) return;
        joining = (async () => {
          const client = await connectUser(n1, 'late-reader');
          clients.push(client);
          late = { client, reply: await client.subscribe(channel) };
        })();
      };
      const [via2, via3] = await Promise.all([
        publishConcurrently(n2, channel, PER_NODE, 'n2', joinMidStream),
        publishConcurrently(n3, channel, PER_NODE, 'n3'),
      ]);
      await joining;
      const accepted = [...via2, ...via3];
      assert.equal(accepted.length, 2 * PER_NODE, 'every publication accepted');
      const epoch = earlyReply.epoch as string;
      assert.ok(accepted.every((position) => position.epoch === epoch), 'one epoch throughout');

      const readers = [
        { name: 'early', client: early, floor: earlyReply.offset as number },
        { name: 'late', client: late!.client, floor: late!.reply.offset as number },
      ];
      const summary: string[] = [];
      for (const reader of readers) {
        const ledger = await settled(reader.client, channel, epoch, reader.floor, accepted);
        assert.equal(ledger.inversions, 0, `${reader.name}: no offset below one already received`);
        assert.equal(ledger.duplicates, 0, `${reader.name}: no offset twice`);
        assert.ok(ledger.delivered.every((offset) => offset > reader.floor), `${reader.name}: nothing at or below the subscribed position ${reader.floor}`);
        for (const range of ledger.lost) {
          assert.ok(range.from > reader.floor, `${reader.name}: lost ${JSON.stringify(range)} lies above the subscribed position`);
          for (const offset of ledger.delivered) assert.ok(!(offset >= range.from && (range.to === null || offset <= range.to)), `${reader.name}: ${offset} delivered and announced lost`);
        }
        const lostOffsets = ledger.lost.reduce((sum, range) => sum + ((range.to ?? range.from) - range.from + 1), 0);
        summary.push(`${reader.name} (from ${reader.floor}): ${ledger.delivered.length} delivered, ${lostOffsets} announced lost in ${ledger.lost.length} ranges`);
      }
      const metrics = await (await fetch(`${n1.httpUrl}/metrics`)).text();
      const outcome = (name: string) => Number(new RegExp(`^wsgate_ordering_publications_total\\{outcome="${name}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
      console.log(`[ordering ${namespace}] ${accepted.length} accepted; ${summary.join('; ')}; n1 sequencer: ${['in_order', 'reordered', 'filled', 'duplicate', 'stale'].map((name) => `${name} ${outcome(name)}`).join(', ')}`);
    });
  }

  test('NATS restarted under traffic: what the broker did not bring comes from history, in order', async () => {
    const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
    const channel = `feed:restart-${Date.now()}`;
    const subscriber = await connectUser(n1, 'restart-reader');
    clients.push(subscriber);
    const reply = await subscriber.subscribe(channel);
    const accepted: Accepted[] = [];
    let publishing = true;
    const traffic = (async () => {
      for (let seq = 0; publishing; seq++) {
        const { status, body } = await n2.api('POST', '/api/publish', { channel, data: { seq } }).catch(() => ({ status: 0, body: null }));
        if (status === 200) accepted.push(body as Accepted);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const before = accepted.length;
    await subscriber.seen('message', (frame) => frame.channel === channel && (frame.offset as number) >= 5, 10_000);
    await nats.stop();
    // Publications keep being accepted (offsets in Redis); NATS client buffers them or they miss the restarted server.
    const stoppedAt = accepted.length;
    while (accepted.length < stoppedAt + 20) await new Promise((resolve) => setTimeout(resolve, 20));
    await nats.restart();
    const restartedAt = accepted.length;
    while (accepted.length < restartedAt + 20) await new Promise((resolve) => setTimeout(resolve, 20));
    publishing = false;
    await traffic;
    const ledger = await settled(subscriber, channel, reply.epoch as string, reply.offset as number, accepted);
    assert.equal(ledger.inversions, 0);
    assert.equal(ledger.duplicates, 0);
    const metrics = await (await fetch(`${n1.httpUrl}/metrics`)).text();
    const filled = /^wsgate_ordering_publications_total\{outcome="filled"\} (\S+)$/m.exec(metrics)?.[1];
    const lostOffsets = ledger.lost.reduce((sum, range) => sum + ((range.to ?? range.from) - range.from + 1), 0);
    console.log(`[ordering nats restart] ${accepted.length - before} accepted (${restartedAt - stoppedAt} while NATS was down); ${ledger.delivered.length} delivered, ${lostOffsets} announced lost; n1 filled from history so far: ${filled}`);
  });

  test('Redis restarted empty: the old epoch ends with an open-ended lost, the new one is delivered from offset 1', async () => {
    const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
    const channel = `feed:reset-${Date.now()}`;
    const subscriber = await connectUser(n1, 'reset-reader');
    clients.push(subscriber);
    const reply = await subscriber.subscribe(channel);
    const oldEpoch = reply.epoch as string;
    const publish = async () => n2.api('POST', '/api/publish', { channel, data: null }).catch(() => ({ status: 0, body: null }));
    for (let i = 0; i < 3; i++) await publish();
    await subscriber.seen('message', (frame) => frame.channel === channel && frame.offset === 3);
    await world.redis!.restart();
    await waitFor(async () => (await Promise.all([n1, n2].map((node) => node.readiness()))).every(({ status }) => status === 200), 15_000, 'both nodes ready again');
    const accepted: Accepted[] = [];
    while (accepted.length < 5) {
      const { status, body } = await publish();
      const position = body as Accepted;
      if (status === 200 && position.epoch !== oldEpoch) accepted.push(position);
    }
    const newEpoch = accepted[0]!.epoch;
    const ledger = await settled(subscriber, channel, newEpoch, 0, accepted);
    assert.deepEqual(ledger.delivered, accepted.map((position) => position.offset).sort((a, b) => a - b).filter((offset) => !covered(ledger, offset)));
    assert.equal(ledger.inversions, 0);
    const ended = subscriber.frames.filter((frame) => frame.type === 'lost' && frame.channel === channel && frame.epoch === oldEpoch);
    assert.deepEqual(ended.map((frame) => [frame.from, frame.to]), [[4, null]], 'the old epoch ends after the last offset delivered');
    const endedAt = subscriber.frames.indexOf(ended[0]!);
    assert.ok(subscriber.frames.findIndex((frame) => frame.type === 'message' && frame.epoch === newEpoch) > endedAt, 'lost comes before the new epoch');
    console.log(`[ordering redis reset] old epoch ${oldEpoch} lost from 4 on; new epoch ${newEpoch}: ${ledger.delivered.length} delivered, ${ledger.lost.length} lost ranges`);
  });
});

describe('ordered delivery on Redis pub/sub: a restart is caught up at reconnect', { timeout: 90_000 }, () => {
  let world: EngineWorld;
  let cluster: Cluster;
  const clients: TestClient[] = [];

  before(async () => {
    world = await ENGINE_SETUPS[0]!.start();
    cluster = await startCluster(world, 'ordering-redis', { nodes: 2, readyTimeoutMs: 60_000 });
  });

  after(async () => {
    await closeAll(clients).catch(() => {});
    await cluster?.stop();
    await world?.stop();
  });

  test('the subscriber is told the old epoch ended as soon as the broker is back, before anything new is published', async () => {
    const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
    const channel = `feed:redis-reset-${Date.now()}`;
    const subscriber = await connectUser(n1, 'redis-reset-reader');
    clients.push(subscriber);
    const reply = await subscriber.subscribe(channel);
    for (let i = 0; i < 3; i++) assert.equal((await n2.api('POST', '/api/publish', { channel, data: i })).status, 200);
    await subscriber.seen('message', (frame) => frame.channel === channel && frame.offset === 3);
    await world.redis!.restart();
    const lost = await subscriber.seen('lost', (frame) => frame.channel === channel, 20_000);
    assert.deepEqual({ epoch: lost.epoch, from: lost.from, to: lost.to }, { epoch: reply.epoch, from: 4, to: null });
    await waitFor(async () => (await n2.readiness()).status === 200, 15_000, 'n2 ready again');
    const after = await n2.api('POST', '/api/publish', { channel, data: 'after' });
    const position = after.body as Accepted;
    assert.notEqual(position.epoch, reply.epoch);
    await subscriber.seen('message', (frame) => frame.channel === channel && frame.epoch === position.epoch && frame.offset === position.offset);
  });
});
