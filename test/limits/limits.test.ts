import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.js';
import { connectAs, HandshakeRefused, open } from '../helpers/client.js';
import { waitFor, within } from '../support/wait.js';

describe('rate limits per session', () => {
  test('over the bucket: RATE_LIMITED with retryAfter; flooding on: closed with 4003 after the strikes', async () => {
    const running = await startGateway({
      limits: { rate: { publish: { rate: 1, burst: 3 }, subscribe: { rate: 50, burst: 100 }, send: { rate: 50, burst: 100 }, action: { rate: 50, burst: 100 } }, maxRateLimitStrikes: 5 },
    });
    try {
      const client = await connectAs(running, 'flooder');
      const publish = () => client.request({ type: 'publish', channel: 'chat:flood', data: 'x' });
      for (let i = 0; i < 3; i++) assert.equal((await publish()).type, 'published', 'the burst passes');
      const refused = await publish();
      assert.equal(refused.type, 'error');
      assert.equal(refused.code, 'RATE_LIMITED');
      assert.ok(typeof refused.retryAfter === 'number' && refused.retryAfter > 0 && refused.retryAfter <= 1, `retryAfter ${refused.retryAfter}`);
      // Other classes have their own buckets.
      assert.equal((await client.request({ type: 'subscribe', channel: 'chat:other' })).type, 'subscribed');

      // The admitted subscribe ended the run of refusals; five more are answered, the sixth closes the session.
      for (let i = 0; i < 6; i++) client.send({ type: 'publish', id: `f${i}`, channel: 'chat:flood', data: 'x' });
      const closed = await within(client.closed, 5_000, 'the close after the strikes');
      assert.equal(closed.code, 4003);
      const disconnect = client.frames.at(-1)!;
      assert.equal(disconnect.type, 'disconnect');
      assert.equal(disconnect.code, 4003);
      assert.equal(disconnect.reconnect, true);
      assert.equal(client.frames.filter((frame) => frame.code === 'RATE_LIMITED').length, 6, 'one error per refusal before the close');
      assert.equal(client.frames.some((frame) => frame.id === 'f5'), false);

      const metrics = await (await fetch(`${running.httpUrl}/metrics`)).text();
      assert.match(metrics, /wsgate_rate_limited_total\{class="publish"\} 7/);
      assert.match(metrics, /wsgate_disconnects_total\{reason="RATE_LIMITED"\} 1/);
    } finally {
      await running.stop();
    }
  });

  test('a namespace bucket replaces the default for its channels; odd namespaces fall back to the default', async () => {
    const running = await startGateway({
      namespaces: { slow: { publish: true, rateLimits: { publish: { rate: 0.5, burst: 1 } } } },
      limits: { rate: { publish: { rate: 100, burst: 100 }, subscribe: { rate: 50, burst: 100 }, send: { rate: 50, burst: 100 }, action: { rate: 50, burst: 100 } } },
    });
    try {
      const client = await connectAs(running, 'ns');
      assert.equal((await client.request({ type: 'publish', channel: 'slow:a', data: 1 })).type, 'published');
      const limited = await client.request({ type: 'publish', channel: 'slow:a', data: 2 });
      assert.equal(limited.code, 'RATE_LIMITED');
      assert.ok((limited.retryAfter as number) > 1);
      assert.equal((await client.request({ type: 'publish', channel: 'chat:a', data: 3 })).type, 'published', 'other namespaces keep the default');
      // A namespace named like an Object.prototype member does not break the bucket lookup.
      assert.equal((await client.request({ type: 'publish', channel: 'constructor:x', data: 4 })).code, 'NAMESPACE_UNKNOWN');
      assert.equal((await client.request({ type: 'subscribe', channel: '__proto__:x' })).code, 'NAMESPACE_UNKNOWN');
      await client.close();
    } finally {
      await running.stop();
    }
  });

  test('channel reads (presence, history) share the subscribe bucket', async () => {
    const running = await startGateway({
      limits: { rate: { publish: { rate: 50, burst: 100 }, subscribe: { rate: 1, burst: 2 }, send: { rate: 50, burst: 100 }, action: { rate: 50, burst: 100 } } },
    });
    try {
      const client = await connectAs(running, 'reads');
      assert.equal((await client.request({ type: 'history', channel: 'chat:h' })).type, 'history');
      assert.equal((await client.request({ type: 'presence', channel: 'chat:h' })).type, 'presence');
      assert.equal((await client.request({ type: 'history', channel: 'chat:h' })).code, 'RATE_LIMITED');
      await client.close();
    } finally {
      await running.stop();
    }
  });
});

describe('node limits', () => {
  test('subscriptions per session', async () => {
    const running = await startGateway({ limits: { maxSubscriptionsPerSession: 2 } });
    try {
      const client = await connectAs(running, 'subs');
      await client.subscribe('chat:1');
      await client.subscribe('chat:2');
      const refused = await client.request({ type: 'subscribe', channel: 'chat:3' });
      assert.equal(refused.code, 'TOO_MANY_SUBSCRIPTIONS');
      await client.request({ type: 'unsubscribe', channel: 'chat:1' });
      await client.subscribe('chat:3');
      await client.close();
    } finally {
      await running.stop();
    }
  });

  test('sessions per node: the handshake beyond the limit gets 503 NODE_FULL', async () => {
    const running = await startGateway({ limits: { maxSessions: 2 } });
    try {
      const first = await connectAs(running, 'n1');
      const second = await connectAs(running, 'n2');
      await assert.rejects(open(running.wsUrl, { query: 'x=1' }), (error: HandshakeRefused) => error.status === 503 && error.code === 'NODE_FULL');
      await first.close();
      // The slot frees once the server has cleaned the session up (no event announces it to the test).
      await waitFor(() => running.gateway.hub.sessions.size < 2, 2_000, 'the closed session to be removed');
      const third = await connectAs(running, 'n3');
      await second.close();
      await third.close();
      const metrics = await (await fetch(`${running.httpUrl}/metrics`)).text();
      assert.match(metrics, /wsgate_handshake_failures_total\{reason="NODE_FULL"\} 1/);
    } finally {
      await running.stop();
    }
  });

  test('connection attempts per IP: beyond the burst the handshake gets 429', async () => {
    const running = await startGateway({ limits: { connectRate: 0.5, connectBurst: 3 } });
    try {
      const clients = [];
      for (let i = 0; i < 3; i++) clients.push(await open(running.wsUrl));
      await assert.rejects(open(running.wsUrl), (error: HandshakeRefused) => error.status === 429 && error.code === 'CONNECTION_RATE_LIMITED');
      await Promise.all(clients.map((client) => client.close()));
    } finally {
      await running.stop();
    }
  });
});
