import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { api } from '../api/api-client.js';
import { connectAs, type Frame, type TestClient } from '../helpers/client.js';
import { mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { within } from '../support/wait.js';

/** A namespace keeping 100 publications, with the default ws.sendQueueBytes (1 MiB) and limits.history. */
function startBig(overrides: Parameters<typeof startGateway>[0] = {}): Promise<RunningGateway> {
  return startGateway({
    namespaces: { big: { publish: true, history: { size: 100, ttlSeconds: 300 } } },
    limits: { rate: { subscribe: { rate: 1e6, burst: 1e6 } } },
    ...overrides,
  });
}

async function publishMany(running: RunningGateway, channel: string, count: number, bytes: number): Promise<void> {
  for (let n = 1; n <= count; n++) {
    const answer = await api(running, 'POST', '/api/publish', { channel, data: { n, pad: 'x'.repeat(bytes) } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }
}

/** Reads `history` page by page (each `since` the last one received) until a reply says no `more`. */
async function readPaged(client: TestClient, channel: string, first: Record<string, unknown>): Promise<{ offsets: number[]; pages: number }> {
  const offsets: number[] = [];
  let request: Record<string, unknown> = { type: 'history', channel, ...first };
  let pages = 0;
  for (;;) {
    const reply = await client.request(request as Frame);
    assert.equal(reply.type, 'history', JSON.stringify({ ...reply, publications: undefined }));
    pages++;
    const publications = reply.publications as Array<{ offset: number }>;
    assert.ok(publications.length > 0, 'every page carries at least one publication');
    offsets.push(...publications.map((p) => p.offset));
    if (reply.more !== true) return { offsets, pages };
    const last = publications.at(-1)!.offset;
    const limit = typeof request.limit === 'number' ? request.limit - publications.length : undefined;
    request = { type: 'history', channel, since: { offset: last, epoch: reply.epoch }, ...(limit === undefined ? {} : { limit }) };
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('history of 100 × 50 KB comes in pages within limits.history.replyBytes, with and without limit, and nobody is evicted', async () => {
  const running = await startBig();
  try {
    await publishMany(running, 'big:hist', 100, 50_000);
    const reader = await connectAs(running, 'reader');
    const all = await readPaged(reader, 'big:hist', {});
    assert.deepEqual(all.offsets, range(1, 100));
    assert.ok(all.pages >= 15, `paged: ${all.pages} pages`);
    const latest = await readPaged(reader, 'big:hist', { limit: 30 });
    assert.deepEqual(latest.offsets, range(71, 100));
    assert.ok(latest.pages > 1);
    for (const frame of reader.frames.filter((f) => f.type === 'history')) {
      assert.ok(JSON.stringify(frame).length < 256 * 1024 + 60_000, 'a page holds about replyBytes');
    }
    assert.equal(reader.count('disconnect'), 0);
    assert.equal(reader.ws.readyState, WebSocket.OPEN);
    assert.equal(running.gateway.channels.historyBytes.inFlight, 0, 'every reply released its bytes');
    assert.match(await (await fetch(`${running.httpUrl}/metrics`)).text(), /wsgate_history_bytes_in_flight 0\n/);
    console.log(`100 × 50 KB: ${all.pages} pages; limit 30: ${latest.pages} pages`);
    await reader.close();
  } finally {
    await running.stop();
  }
});

test('a client that missed 60 × 20 KB recovers in pages on resubscribe, without an eviction', async () => {
  const running = await startBig();
  try {
    await publishMany(running, 'big:rec', 5, 10);
    const first = await connectAs(running, 'roamer');
    const subscribed = await first.subscribe('big:rec');
    await first.close();
    await publishMany(running, 'big:rec', 60, 20_000);

    const again = await connectAs(running, 'roamer');
    const reply = await again.subscribe('big:rec', { recover: { offset: subscribed.offset, epoch: subscribed.epoch } });
    assert.equal(reply.recovered, true);
    assert.equal(reply.more, true, 'the replay stopped at the byte budget');
    assert.equal(reply.offset, 65);
    const replayed = (reply.publications as Array<{ offset: number }>).map((p) => p.offset);
    assert.deepEqual(replayed, range(6, 5 + replayed.length));
    // Live publications now come after offset 65; the rest of the replay is read with history.
    await api(running, 'POST', '/api/publish', { channel: 'big:rec', data: 'live' });
    const live = await again.next('message', () => true);
    assert.equal(live.offset, 66);
    const rest = await readPaged(again, 'big:rec', { since: { offset: replayed.at(-1), epoch: reply.epoch } });
    assert.deepEqual([...replayed, ...rest.offsets], range(6, 66));
    assert.equal(again.count('disconnect'), 0);
    assert.equal(again.ws.readyState, WebSocket.OPEN);
    console.log(`recovery of 60 × 20 KB: ${replayed.length} replayed in subscribed, the rest in ${rest.pages} history pages`);
    await again.close();
  } finally {
    await running.stop();
  }
});

test('a client that stops reading is still evicted, however large the replies it asked for', async () => {
  const running = await startBig({ ws: { sendQueueBytes: 256 * 1024 }, limits: { rate: { publish: { rate: 1e6, burst: 1e6 } } } });
  try {
    await publishMany(running, 'big:stall', 40, 50_000);
    const stalled = await connectAs(running, 'stalled');
    await stalled.subscribe('big:stall');
    const publisher = await connectAs(running, 'publisher');
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();
    for (let i = 0; i < 4; i++) stalled.send({ type: 'history', id: `h${i}`, channel: 'big:stall' });
    const stalledId = stalled.welcome!.session as string;
    let published = 0;
    while (running.gateway.hub.sessions.has(stalledId)) {
      assert.ok(published < 2_000, 'the stalled client was never evicted');
      const reply = await publisher.request({ type: 'publish', channel: 'big:stall', data: 'y'.repeat(8_000) });
      assert.equal(reply.type, 'published');
      published++;
    }
    (stalled.ws as unknown as { _socket: Socket })._socket.resume();
    const closed = await within(stalled.closed, 10_000, 'the stalled client to be closed');
    assert.equal(closed.code, 4001);
    assert.equal(running.gateway.channels.historyBytes.inFlight, 0, 'the evicted session released its history bytes');
    await publisher.close();
  } finally {
    await running.stop();
  }
});

/** A raw socket that counts replies by type and keeps nothing else. */
async function countingReader(running: RunningGateway, user: string): Promise<{ ws: WebSocket; counts: Map<string, number>; settled: (n: number) => Promise<void> }> {
  const ws = new WebSocket(`${running.wsUrl}?ticket=${await mintTicket(running, user)}`, 'wsgate.v1.json');
  const counts = new Map<string, number>();
  let answered = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const text = data.toString();
      const type = /^\{"type":"([a-z_]+)"/.exec(text)?.[1] ?? '?';
      if (type === 'welcome') return resolve();
      const key = type === 'error' ? (JSON.parse(text) as { code: string }).code : type;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (type === 'history' || type === 'error') answered++;
      for (const waiter of waiters.filter((w) => answered >= w.n)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
    ws.once('error', reject);
  });
  const settled = (n: number) => (answered >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })));
  return { ws, counts, settled };
}

function rssMb(): number {
  return Math.round(process.memoryUsage().rss / 1e6);
}

for (const [bound, history] of [['the session bound (defaults)', {}], ['the node bound (2 MiB)', { nodeBytes: 2 * 1024 * 1024 }]] as const) {
  test(`5 sessions × 100 concurrent history requests of a 5 MB history: RATE_LIMITED beyond ${bound}, in-flight bytes bounded`, async () => {
    const running = await startBig({ auth: { anonymous: true }, limits: { rate: { subscribe: { rate: 1e6, burst: 1e6 } }, history } });
    try {
      await publishMany(running, 'big:amp', 100, 50_000);
      const config = running.gateway.config.limits.history;
      const readers = await Promise.all([1, 2, 3, 4, 5].map((n) => countingReader(running, `amp-${n}`)));
      global.gc?.();
      const before = rssMb();
      for (const reader of readers) for (let i = 0; i < 100; i++) reader.ws.send(JSON.stringify({ type: 'history', id: i, channel: 'big:amp' }));
      await within(Promise.all(readers.map((reader) => reader.settled(100))), 60_000, 'every request answered');
      const after = rssMb();
      const pages = readers.reduce((sum, r) => sum + (r.counts.get('history') ?? 0), 0);
      const limited = readers.reduce((sum, r) => sum + (r.counts.get('RATE_LIMITED') ?? 0), 0);
      const peak = running.gateway.channels.historyBytes.peak;
      console.log(`${bound}: 500 history requests, ${pages} pages, ${limited} RATE_LIMITED; history bytes in flight peaked at ${(peak / 1e6).toFixed(2)} MB; RSS ${before} MB -> ${after} MB`);
      assert.equal(pages + limited, 500);
      assert.ok(limited > 0, 'requests over the bounds are refused');
      assert.ok(pages > 0);
      // One reply of slack per session beyond a bound: a reservation grows to its reply's real size once encoded.
      const bounded = Math.min(config.nodeBytes, 5 * config.sessionBytes) + 5 * config.replyBytes;
      assert.ok(peak <= bounded, `peak ${peak} > ${bounded}`);
      assert.equal(running.gateway.channels.historyBytes.inFlight, 0);
      for (const reader of readers) reader.ws.close();
    } finally {
      await running.stop();
    }
  });
}

test('history over the session bound gets RATE_LIMITED with retryAfter, and the session stays', async () => {
  const running = await startBig();
  try {
    await publishMany(running, 'big:session', 30, 50_000);
    const reader = await countingReader(running, 'greedy');
    for (let i = 0; i < 20; i++) reader.ws.send(JSON.stringify({ type: 'history', id: i, channel: 'big:session' }));
    const errors: Frame[] = [];
    reader.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'error') errors.push(frame);
    });
    await within(reader.settled(20), 20_000, 'every request answered');
    const { sessionBytes, replyBytes } = running.gateway.config.limits.history;
    assert.ok((reader.counts.get('history') ?? 0) >= Math.floor(sessionBytes / replyBytes), 'the bound admits sessionBytes / replyBytes at once');
    assert.ok(errors.length > 0);
    for (const error of errors) {
      assert.equal(error.code, 'RATE_LIMITED');
      assert.equal(typeof error.retryAfter, 'number');
    }
    assert.equal(reader.ws.readyState, WebSocket.OPEN, 'the bound is not a rate-limit strike');
    reader.ws.close();
  } finally {
    await running.stop();
  }
});

test('a recovering subscribe over the history bounds still succeeds: recovered, more, nothing replayed', async () => {
  // The node's bound is below one reply's budget: nothing can be read for a reply at all.
  const running = await startBig({ limits: { history: { replyBytes: 2048, nodeBytes: 1024 } } });
  try {
    await publishMany(running, 'big:bounded', 3, 10);
    const client = await connectAs(running, 'bounded');
    const subscribed = await client.subscribe('big:bounded');
    await client.request({ type: 'unsubscribe', channel: 'big:bounded' });
    await publishMany(running, 'big:bounded', 2, 10);
    const again = await client.subscribe('big:bounded', { recover: { offset: subscribed.offset, epoch: subscribed.epoch } });
    assert.deepEqual([again.recovered, again.more, again.publications, again.offset], [true, true, [], 5]);
    const refused = await client.request({ type: 'history', channel: 'big:bounded', since: { offset: 3, epoch: again.epoch } });
    assert.deepEqual([refused.type, refused.code, refused.retryAfter], ['error', 'RATE_LIMITED', 0.5]);
    await client.close();
  } finally {
    await running.stop();
  }
});
