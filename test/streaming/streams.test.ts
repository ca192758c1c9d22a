import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../api/api-client.js';
import { connect, HandshakeRefused } from '../helpers/client.js';
import { mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { connectStream, type StreamClient } from '../helpers/stream-client.js';
import { waitFor } from '../support/wait.js';

const ORIGIN = 'http://app.example';

for (const kind of ['sse', 'http-stream'] as const) {
  describe(`streaming transport: ${kind}`, () => {
    let running: RunningGateway;
    before(async () => {
      running = await startGateway({ streaming: { heartbeatMs: 100, orderWaitMs: 100 } });
    });
    after(() => running.stop());

    const open = (options: Parameters<typeof connectStream>[2] = {}): Promise<StreamClient> =>
      connectStream(kind, running.httpUrl, { origin: ORIGIN, ...options });

    test('the first frame is welcome with the secret for POSTs; a WebSocket welcome has none', async () => {
      const client = await open();
      assert.equal(client.frames[0]!.type, 'welcome');
      assert.match(String(client.welcome!.secret), /^[A-Za-z0-9_-]{22}$/);
      assert.equal(running.gateway.hub.sessions.get(String(client.welcome!.session))?.transportName, kind);
      await client.close();
      const ws = await connect(running.wsUrl, { origin: ORIGIN });
      assert.equal('secret' in ws.welcome!, false);
      await ws.close();
    });

    test('client frames by POST reach the session, replies and publications come on the stream', async () => {
      const client = await open();
      await client.subscribe('chat:streamed');
      const published = await api(running, 'POST', '/api/publish', { channel: 'chat:streamed', data: { hello: kind } });
      assert.equal(published.status, 200);
      const message = await client.seen('message', (frame) => frame.channel === 'chat:streamed');
      assert.deepEqual(message.data, { hello: kind });
      const reply = await client.request({ type: 'publish', channel: 'chat:streamed', data: 'from the client' });
      assert.equal(reply.type, 'published');
      await client.close();
      await waitFor(() => running.gateway.hub.sessions.size === 0, 5_000, 'the session to end with its response');
    });

    test('authenticates like the handshake: a ticket is taken once, a bad one and a foreign origin are refused', async () => {
      const ticket = await mintTicket(running, 'ada');
      const client = await open({ ticket });
      assert.equal(client.welcome!.user, 'ada');
      await assert.rejects(open({ ticket }), (error: HandshakeRefused) => error.status === 401 && error.code === 'TICKET_INVALID');
      await assert.rejects(open({ origin: 'http://evil.example' }), (error: HandshakeRefused) => error.status === 403 && error.code === 'ORIGIN_FORBIDDEN');
      await client.close();
    });

    test('a POST with a wrong secret or for an unknown session is 404, either way', async () => {
      const client = await open();
      assert.equal(await client.post([{ type: 'subscribe', channel: 'chat:x', id: 1 }], { secret: 'not-the-secret' }), 404);
      assert.equal(await client.post([{ type: 'subscribe', channel: 'chat:x', id: 1 }], { session: 'no-such-session' }), 404);
      assert.equal(client.frames.length, 1);
      await client.close();
    });

    test('POSTs that race are applied in sequence order; a gap is skipped after the wait', async () => {
      const client = await open();
      await client.subscribe('chat:order');
      // The publisher gets no copy of its publications: the offsets in its replies tell the order they were applied in.
      const publish = (data: number) => ({ type: 'publish', channel: 'chat:order', data, id: 100 + data });
      const first = client.skipSeq();
      const second = client.skipSeq();
      // The second arrives first and waits for the first.
      assert.equal(await client.post([publish(2), publish(3)], { seq: second }), 204);
      assert.equal(await client.post([publish(1)], { seq: first }), 204);
      // A POST that never comes: the next one waits `orderWaitMs`, then goes on.
      client.skipSeq();
      assert.equal(await client.post([publish(4)]), 204);
      await client.seen('published', (frame) => frame.id === 104);
      const offsets = [101, 102, 103, 104].map((id) => client.frames.find((frame) => frame.id === id)!.offset as number);
      assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
      assert.equal(new Set(offsets).size, 4);
      await client.close();
    });

    test('a page on another allowed origin may read the stream and post (CORS)', async () => {
      const path = kind === 'sse' ? '/sse' : '/stream';
      const preflight = await fetch(`${running.httpUrl}/emulation`, {
        method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), ORIGIN);
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/);
      const stream = await fetch(`${running.httpUrl}${path}`, { method: kind === 'sse' ? 'GET' : 'POST', headers: { origin: ORIGIN } });
      assert.equal(stream.status, 200);
      assert.equal(stream.headers.get('access-control-allow-origin'), ORIGIN);
      assert.equal(stream.headers.get('access-control-allow-credentials'), 'true');
      await stream.body?.cancel();
      const foreign = await fetch(`${running.httpUrl}/emulation`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
      assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    });

    test('a repeated seq is ignored, and more POSTs held than maxPendingPosts skip the gap at once', async () => {
      const gapless = await startGateway({ streaming: { orderWaitMs: 60_000, maxPendingPosts: 2 } });
      try {
        const client = await connectStream(kind, gapless.httpUrl, { origin: ORIGIN });
        await client.subscribe('chat:held');
        assert.equal(await client.post([{ type: 'publish', channel: 'chat:held', data: 'again', id: 301 }], { seq: 1 }), 204);
        client.skipSeq();
        // Three POSTs behind a gap, one more than may be held: applied at once, without waiting out the minute.
        for (const id of [302, 303, 304]) assert.equal(await client.post([{ type: 'publish', channel: 'chat:held', data: id, id }]), 204);
        await client.seen('published', (frame) => frame.id === 304);
        assert.equal(client.count('published'), 3);
        assert.equal(client.frames.some((frame) => frame.id === 301), false);
        await client.close();
      } finally {
        await gapless.stop();
      }
    });

    test('a quiet stream carries heartbeats', async () => {
      const client = await open();
      await waitFor(() => client.heartbeats >= 2, 5_000, 'two heartbeats');
      await client.close();
    });
  });
}
