import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAs } from '../helpers/client.js';
import { API_KEY, startGateway } from '../helpers/gateway.js';

/** A small deterministic generator, so a failure can be replayed from its seed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const value = (depth = 0): unknown => {
    switch (Math.floor(next() * (depth > 2 ? 6 : 8))) {
      case 0: return null;
      case 1: return next() < 0.5;
      case 2: return Math.floor((next() - 0.5) * 2 ** (next() * 60));
      case 3: return pick(['', 'chat:lobby', 'org:acme', 'x'.repeat(400), '\u0000', 'constructor:x', '__proto__', 'chat:a/b:c', '💥', 'NaN']);
      case 4: return next() * 1e308;
      case 5: return pick([{}, [], 'toString', -0]);
      case 6: return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [pick(['type', 'id', 'channel', 'data', 'user', 'recover', 'since', 'limit', 'payload', '__proto__', 'offset', 'epoch']), value(depth + 1)]));
    }
  };
  const frame = () => {
    const base: Record<string, unknown> = { type: pick(['subscribe', 'unsubscribe', 'publish', 'presence', 'history', 'send', 'order.create', 'message', 42, undefined]) };
    for (const key of ['id', 'channel', 'data', 'user', 'recover', 'since', 'limit', 'payload']) if (next() < 0.6) base[key] = value();
    return next() < 0.1 ? pick(['{', '[]', 'null', '"x"', '{"type":', '\u0000\u0001']) : JSON.stringify(base);
  };
  return { next, pick, value, frame };
}

test('random frames and API bodies never crash the node, and every answer is an error frame or a 4xx', async () => {
  const gw = await startGateway({ ws: { maxBadFrames: 1_000_000 }, limits: { rate: { publish: { rate: 1e6, burst: 1e6 }, subscribe: { rate: 1e6, burst: 1e6 }, send: { rate: 1e6, burst: 1e6 }, action: { rate: 1e6, burst: 1e6 } } } });
  try {
    const random = generator(20261122);
    const clients = await Promise.all(['f1', 'f2', 'f3'].map((user) => connectAs(gw, user, { org: 'acme' })));
    for (let i = 0; i < 1_500; i++) random.pick(clients).ws.send(random.frame());
    // Every client is still connected and answers; internal errors never surface.
    for (const client of clients) {
      // A string id the generator never makes, so no reply to a random frame can be taken for this one.
      const id = `check-${client.welcome!.session}`;
      const reply = client.waitFor((frame) => frame.id === id);
      client.send({ type: 'subscribe', id, channel: `chat:after-${client.welcome!.session}` });
      assert.equal((await reply).type, 'subscribed', JSON.stringify(await reply));
      assert.equal(client.frames.filter((frame) => frame.type === 'error' && frame.code === 'INTERNAL').length, 0);
    }

    const routes = ['/api/publish', '/api/tickets', '/api/users/f1/send', '/api/users/f1/disconnect', '/api/sessions/nope/send',
      '/api/channels/chat%3Alobby/subscribe', '/api/channels/chat%3Alobby/unsubscribe', '/api/batch', '/auth/ticket', '/auth/dev-login'];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const raw = random.next() < 0.15 ? random.pick(['{', 'null', '[1', '"', '']) : JSON.stringify(random.value());
      const route = random.pick(routes);
      const response = await fetch(`${gw.httpUrl}${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(random.next() < 0.2 ? { 'idempotency-key': random.pick(['k1', 'k2', ' ', 'x'.repeat(300), 'é']) } : {}) },
        body: raw,
      });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const text = await response.text();
      assert.ok(response.status < 500, `${route} ${response.status}: ${text}`);
      if (response.status >= 400) assert.match(text, /"code":"[A-Z_]+"/, `${route} ${response.status} ${text} for ${raw.slice(0, 80)}`);
    }
    assert.ok((statuses.get(400) ?? 0) > 0, 'the bodies were mostly bad');
    for (const client of clients) await client.close();
  } finally {
    await gw.stop();
  }
});
