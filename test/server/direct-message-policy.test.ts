import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectAs } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';

describe('who may message whom', () => {
  test('by default nobody may send, and the reply never tells whether the recipient is online', async () => {
    const gw = await startGateway({ directMessages: { allow: [], revealSessions: false } });
    try {
      const alice = await connectAs(gw, 'alice', { org: 'acme' });
      const bob = await connectAs(gw, 'bob', { org: 'acme' });
      const refused = await alice.request({ type: 'send', user: 'bob', data: 'hi' });
      assert.equal(refused.code, 'SEND_FORBIDDEN');
      // Offline and online recipients get the same answer.
      assert.equal((await alice.request({ type: 'send', user: 'nobody', data: 'hi' })).code, 'SEND_FORBIDDEN');
      // One's own other sessions need no permission; the reply has no count.
      const alice2 = await connectAs(gw, 'alice', { org: 'acme' });
      const mirrored = alice2.next('direct');
      const self = await alice.request({ type: 'send', user: 'alice', data: 'note' });
      assert.deepEqual(self, { type: 'sent', id: self.id });
      assert.equal((await mirrored).data, 'note');
      assert.equal(bob.count('direct'), 0);
      for (const client of [alice, alice2, bob]) await client.close();
    } finally {
      await gw.stop();
    }
  });

  test('allow patterns over the recipient expand with the sender\'s claims; without revealSessions the count stays hidden', async () => {
    const gw = await startGateway({ directMessages: { allow: ['{claims.org}.*', '{claims.contacts}'], revealSessions: false } });
    try {
      const ann = await connectAs(gw, 'acme.ann', { org: 'acme', contacts: ['zed'] });
      const bob = await connectAs(gw, 'acme.bob', { org: 'acme' });
      const eve = await connectAs(gw, 'globex.eve', { org: 'globex' });
      const zed = await connectAs(gw, 'zed');
      const toBob = bob.next('direct');
      const sent = await ann.request({ type: 'send', user: 'acme.bob', data: 1 });
      assert.deepEqual(sent, { type: 'sent', id: sent.id });
      assert.equal((await toBob).data, 1);
      const toZed = zed.next('direct');
      assert.equal((await ann.request({ type: 'send', user: 'zed', data: 2 })).type, 'sent', 'a contact listed in the claims');
      assert.equal((await toZed).data, 2);
      assert.equal((await ann.request({ type: 'send', user: 'acme.nobody', data: 3 })).type, 'sent', 'offline: same answer as online');
      assert.equal((await eve.request({ type: 'send', user: 'acme.ann', data: 4 })).code, 'SEND_FORBIDDEN', 'another organisation');
      assert.equal((await zed.request({ type: 'send', user: 'acme.ann', data: 5 })).code, 'SEND_FORBIDDEN', 'no claims, no pattern');
      assert.equal(ann.count('direct'), 0);
      for (const client of [ann, bob, eve, zed]) await client.close();
    } finally {
      await gw.stop();
    }
  });

  test('a backend decides what no pattern allows, fails closed, and its answers are remembered', async () => {
    const calls: Array<Record<string, unknown>> = [];
    const authz = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        const call = JSON.parse(text) as { to: string; user: string };
        calls.push(call);
        if (call.to === 'broken') response.writeHead(500).end();
        else if (call.user === 'ann' && call.to === 'bob') response.writeHead(204).end();
        else response.writeHead(403).end();
      });
    });
    await new Promise<void>((resolve) => authz.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(authz.address() as AddressInfo).port}/authorize`;
    const gw = await startGateway({ directMessages: { allow: [], authorize: { url, apiKey: '', timeoutMs: 1_000, cacheSeconds: 60 }, revealSessions: true } });
    try {
      const ann = await connectAs(gw, 'ann', { team: 'red' });
      const bob = await connectAs(gw, 'bob');
      for (let i = 0; i < 3; i++) assert.deepEqual((await ann.request({ type: 'send', user: 'bob', data: i })).sessions, 1);
      assert.equal(calls.length, 1, 'the answer is remembered');
      assert.deepEqual(calls[0], { action: 'send', to: 'bob', user: 'ann', claims: { team: 'red' }, session: ann.welcome!.session });
      assert.equal((await bob.request({ type: 'send', user: 'ann', data: 'x' })).code, 'SEND_FORBIDDEN');
      assert.equal((await ann.request({ type: 'send', user: 'broken', data: 'x' })).code, 'BACKEND_ERROR');
      for (const client of [ann, bob]) await client.close();
    } finally {
      await gw.stop();
      authz.close();
    }
  });
});
