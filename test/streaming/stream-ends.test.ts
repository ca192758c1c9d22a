import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api } from '../api/api-client.js';
import { startGateway } from '../helpers/gateway.js';
import { rawConnection } from '../helpers/raw-http.js';
import { connectStream } from '../helpers/stream-client.js';
import { waitFor } from '../support/wait.js';

const ORIGIN = 'http://app.example';

for (const kind of ['sse', 'http-stream'] as const) {
  test(`${kind}: a drain ends the stream with disconnect 1012 and a reconnect hint`, async () => {
    const running = await startGateway({ drain: { reconnectSpreadMs: 1_000 } });
    const client = await connectStream(kind, running.httpUrl, { origin: ORIGIN });
    const stopped = running.stop();
    const disconnect = await client.seen('disconnect');
    assert.equal(disconnect.code, 1012);
    assert.equal(disconnect.reconnect, true);
    assert.ok(typeof disconnect.after === 'number' && disconnect.after >= 0 && disconnect.after <= 1_000);
    await client.ended;
    await stopped;
  });
}

test('a stream outlives the HTTP request and keep-alive timeouts, which bound only how a request arrives', async () => {
  const running = await startGateway({ http: { requestTimeoutMs: 300, headersTimeoutMs: 300, keepAliveTimeoutMs: 300 }, streaming: { heartbeatMs: 100 } });
  try {
    const client = await connectStream('sse', running.httpUrl, { origin: ORIGIN });
    // Ten heartbeats: three times every one of those timeouts.
    await waitFor(() => client.heartbeats >= 10, 10_000, 'ten heartbeats');
    assert.equal(running.gateway.hub.sessions.size, 1);
    await client.close();
  } finally {
    await running.stop();
  }
});

test('sse: a client that stops reading is evicted as a slow consumer, as on a WebSocket', async () => {
  const running = await startGateway({ ws: { sendQueueBytes: 64 * 1024 } });
  try {
    const connection = await rawConnection(running.port);
    connection.socket.write(`GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${ORIGIN}\r\nAccept: text/event-stream\r\n\r\n`);
    await waitFor(() => connection.received().includes('"type":"welcome"'), 5_000, 'welcome');
    assert.match(connection.received(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*content-type: text\/event-stream/i);
    const welcome = JSON.parse(/data: (\{"type":"welcome".*)\n\n/.exec(connection.received())![1]!) as { session: string; secret: string };
    const subscribe = { session: welcome.session, secret: welcome.secret, frame: { type: 'subscribe', channel: 'chat:flood', id: 1 } };
    const posted = await fetch(`${running.httpUrl}/emulation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(subscribe) });
    assert.equal(posted.status, 204);
    await waitFor(() => connection.received().includes('"type":"subscribed"'), 5_000, 'subscribed');
    connection.socket.pause();
    const data = 'x'.repeat(16 * 1024);
    for (let batch = 0; batch < 40 && running.gateway.hub.sessions.size > 0; batch++) {
      await Promise.all(Array.from({ length: 10 }, () => api(running, 'POST', '/api/publish', { channel: 'chat:flood', data })));
    }
    await waitFor(() => running.gateway.hub.sessions.size === 0, 10_000, 'the slow consumer to be evicted');
    const evictions = await running.gateway.metrics.registry.getSingleMetricAsString('wsgate_slow_consumers_total');
    assert.match(evictions, /wsgate_slow_consumers_total 1$/m);
    connection.socket.destroy();
  } finally {
    await running.stop();
  }
});
