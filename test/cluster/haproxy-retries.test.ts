/**
 * The shipped HAProxy config in front of a node that dies slowly: a stand-in whose listener completes TCP handshakes
 * and answers health checks, but resets every other request unanswered, as a SIGKILLed node's listener does while the
 * kernel closes its sockets. WebSocket upgrades and ticket mints it resets reach the live node instead; a publication
 * is not sent twice. And a node that is gone (its port refuses) while server API calls wait in HAProxy's queue: the
 * queue does not empty into it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect } from '../helpers/client.js';
import { API_KEY, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startHaproxy, type Balancer } from './support/haproxy.js';

/** Answers `GET /readyz` with 200 and resets every other request once its headers are in; counts what it reset. */
function startDyingListener(): Promise<{ server: Server; port: number; reset: Record<string, number> }> {
  const reset: Record<string, number> = {};
  const server = createServer((socket: Socket) => {
    let head = '';
    socket.setEncoding('latin1');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      head += chunk;
      if (!head.includes('\r\n\r\n')) return;
      const [method, path] = head.split(' ', 2) as [string, string];
      if (path === '/readyz') {
        socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}');
        return;
      }
      const key = `${method} ${path.split('?')[0]}`;
      reset[key] = (reset[key] ?? 0) + 1;
      socket.resetAndDestroy();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, reset })));
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('HAProxy in front of a dying node', { timeout: 60_000 }, () => {
  let live: RunningGateway;
  let dying: Awaited<ReturnType<typeof startDyingListener>>;
  let balancer: Balancer;
  before(async () => {
    live = await startGateway({ namespaces: { chat: { publish: true } } });
    dying = await startDyingListener();
    balancer = await startHaproxy([{ port: dying.port }, { port: live.port }], '300ms');
  });
  after(async () => {
    await balancer?.stop();
    dying?.server.close();
    await live?.stop();
  });

  test('tickets and upgrades it resets unanswered go to the live node; every one succeeds', async () => {
    for (let i = 0; i < 12; i++) {
      const minted = await post(`${balancer.httpUrl}/api/tickets`, { user: `retry-${i}` });
      assert.equal(minted.status, 200, `ticket ${i}: ${JSON.stringify(minted.json)}`);
      const client = await connect(balancer.wsUrl, { ticket: minted.json.ticket as string });
      await client.close();
    }
    assert.ok((dying.reset['POST /api/tickets'] ?? 0) > 0, `the dying node got ticket requests: ${JSON.stringify(dying.reset)}`);
    assert.ok((dying.reset['GET /ws'] ?? 0) > 0, `the dying node got upgrades: ${JSON.stringify(dying.reset)}`);
  });

  test('a publication it resets is answered 502, not sent again to the live node', async () => {
    let failed = 0;
    const before = dying.reset['POST /api/publish'] ?? 0;
    for (let i = 0; i < 8; i++) {
      const { status } = await post(`${balancer.httpUrl}/api/publish`, { channel: 'chat:retries', data: i });
      if (status === 502) failed++;
      else assert.equal(status, 200);
    }
    const resetHere = (dying.reset['POST /api/publish'] ?? 0) - before;
    assert.ok(resetHere > 0, 'the dying node got publications');
    assert.equal(failed, resetHere, 'each publication the dying node reset came back 502, none was resent');
  });
});

describe('HAProxy when a node is gone while server API calls wait in its queue', { timeout: 60_000 }, () => {
  let live: RunningGateway;
  let balancer: Balancer;
  let gone: Server;
  before(async () => {
    live = await startGateway({});
    gone = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
    });
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', () => resolve()));
    // Two calls at once per node, so most of the burst waits in the queue.
    balancer = await startHaproxy([{ port: (gone.address() as { port: number }).port }, { port: live.port }], '2s', { apiMaxconn: 2 });
  });
  after(async () => {
    await balancer?.stop();
    await live?.stop();
  });

  test('every ticket of a burst is minted by the live node, none answered 503 after retries into the dead one', async () => {
    // UP in HAProxy, and now refusing: as a node SIGKILLed between two checks.
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => post(`${balancer.httpUrl}/api/tickets`, { user: `queued-${i}` }).then((reply) => reply.status)));
    const counts: Record<number, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    assert.deepEqual(counts, { 200: 40 });
  });
});
