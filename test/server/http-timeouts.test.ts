import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAs, type TestClient } from '../helpers/client.js';
import { rawConnection, statusOf, type RawConnection } from '../helpers/raw-http.js';
import { API_KEY, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { within } from '../support/wait.js';

const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1_500;
const BODY_TIMEOUT_MS = 400;
const KEEP_ALIVE_TIMEOUT_MS = 400;
/** Far above every timeout: a connection the node does not drop by then was never going to be dropped. */
const PATIENCE_MS = 10_000;

describe('HTTP timeouts', { concurrency: true }, () => {
  let gw: RunningGateway;
  let session: TestClient;
  before(async () => {
    gw = await startGateway({
      http: {
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        bodyTimeoutMs: BODY_TIMEOUT_MS,
        keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
        maxRequestsPerSocket: 3,
      },
    });
    // A WebSocket session opened first and checked last: the HTTP timeouts never apply to upgraded connections.
    session = await connectAs(gw, 'long-lived');
    await session.subscribe('chat:timeouts');
  });
  after(async () => {
    // The WebSocket session opened before the slow requests outlived every one of their timeouts.
    const reply = await session.request({ type: 'publish', channel: 'chat:timeouts', data: 'still here' });
    assert.equal(reply.type, 'published');
    await session.close();
    await gw.stop();
  });

  test('headers that never finish: 408 after http.headersTimeoutMs', async () => {
    const conn = await rawConnection(gw.port);
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ');
    const { afterMs, data } = await within(conn.closed, PATIENCE_MS, 'the node to drop a request whose headers stall');
    assert.equal(statusOf(data), 408, data);
    assert.match(data, /"code":"REQUEST_TIMEOUT"/);
    assert.ok(afterMs >= HEADERS_TIMEOUT_MS - 50, `dropped after ${afterMs} ms, not before the timeout`);
  });

  test('an upgrade whose headers never finish is dropped the same way', async () => {
    const conn = await rawConnection(gw.port);
    conn.socket.write('GET /ws HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n');
    const { data } = await within(conn.closed, PATIENCE_MS, 'the node to drop an upgrade whose headers stall');
    assert.equal(statusOf(data), 408, data);
  });

  test('a body that stalls: 408 after http.bodyTimeoutMs without a byte', async () => {
    const conn = await rawConnection(gw.port);
    conn.socket.write(
      'POST /api/publish HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${API_KEY}\r\nContent-Length: 100000\r\n\r\n{"channel":"chat:x","data":"`,
    );
    const { afterMs, data } = await within(conn.closed, PATIENCE_MS, 'the node to drop a stalled body');
    assert.equal(statusOf(data), 408, data);
    assert.match(data, /"code":"REQUEST_TIMEOUT"/);
    assert.ok(afterMs >= BODY_TIMEOUT_MS - 50, `dropped after ${afterMs} ms`);
    assert.ok(afterMs < REQUEST_TIMEOUT_MS, `dropped after ${afterMs} ms: the body timeout, not the request timeout`);
  });

  test('a body that trickles in faster than the body timeout: 408 after http.requestTimeoutMs', async () => {
    const conn = await rawConnection(gw.port);
    conn.socket.write(
      'POST /api/publish HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${API_KEY}\r\nContent-Length: 100000\r\n\r\n`,
    );
    // One byte every BODY_TIMEOUT_MS / 4: the body never pauses long enough for the body timeout.
    const trickle = setInterval(() => conn.socket.writable && conn.socket.write('x'), BODY_TIMEOUT_MS / 4);
    try {
      const { afterMs, data } = await within(conn.closed, PATIENCE_MS, 'the node to drop a trickling body');
      assert.equal(statusOf(data), 408, data);
      assert.ok(afterMs >= REQUEST_TIMEOUT_MS - 50, `dropped after ${afterMs} ms`);
    } finally {
      clearInterval(trickle);
    }
  });

  test('an idle keep-alive connection is closed after http.keepAliveTimeoutMs', async () => {
    const conn = await rawConnection(gw.port);
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const { afterMs, data } = await within(conn.closed, PATIENCE_MS, 'the node to close an idle keep-alive connection');
    assert.equal(statusOf(data), 200, data);
    assert.match(data, /Keep-Alive: timeout=\d+/i);
    assert.ok(afterMs >= KEEP_ALIVE_TIMEOUT_MS - 50, `closed after ${afterMs} ms`);
  });

  test('a keep-alive connection serves http.maxRequestsPerSocket requests, then closes', async () => {
    const conn = await rawConnection(gw.port);
    for (let i = 1; i <= 3; i++) {
      conn.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
      await within(waitForResponses(conn, i), PATIENCE_MS, `response ${i}`);
    }
    const { data } = await within(conn.closed, PATIENCE_MS, 'the node to close after the last allowed request');
    const responses = data.split(/(?=HTTP\/1\.1 )/);
    assert.equal(responses.length, 3);
    assert.doesNotMatch(responses[1]!, /Connection: close/i);
    assert.match(responses[2]!, /Connection: close/i);
  });
});

function waitForResponses(conn: RawConnection, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if ((conn.received().match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= count && conn.received().endsWith('}')) {
        conn.socket.off('data', check);
        resolve();
      }
    };
    conn.socket.on('data', check);
    check();
  });
}
