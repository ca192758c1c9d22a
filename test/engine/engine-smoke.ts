import assert from 'node:assert/strict';
import type { BrokerHandler } from '../../src/server/engine/broker/broker.js';
import type { Engine } from '../../src/server/engine/engine.js';
import { deferred, within } from '../support/wait.js';

/**
 * Two engines built from one config act as two nodes of one cluster: a publication, an inbox message, a session, a
 * ticket, a presence join and a history append made on one are seen on the other.
 */
export async function twoNodeSmoke(makeEngine: () => Engine): Promise<void> {
  const a = makeEngine();
  const b = makeEngine();
  const delivered = deferred<string>();
  const quiet: BrokerHandler = { onChannelMessage() {}, onInboxMessage() {} };
  const listening: BrokerHandler = {
    onChannelMessage: (channel, payload) => delivered.resolve(`${channel}=${payload}`),
    onInboxMessage: (payload) => delivered.resolve(`inbox=${payload}`),
  };
  try {
    await a.start('node-a', quiet);
    await b.start('node-b', listening);
    assert.equal(a.isHealthy(), true);
    assert.equal(b.isHealthy(), true);
    await b.broker.subscribe('chat:smoke');
    await a.broker.publish('chat:smoke', Buffer.from('hi'));
    assert.equal(await within(delivered.promise, 5000, 'a publication across nodes'), 'chat:smoke=hi');

    await a.registry.addSession({ session: 's1', user: 'alice', node: 'node-a', connectedAt: 1, client: {} }, { max: 1, onLimit: 'kick-oldest' });
    assert.deepEqual((await b.registry.getUserSessions('alice')).map((r) => r.node), ['node-a']);
    await a.tickets.put('ticket-hash', { user: 'alice', claims: {}, expiresAt: Date.now() + 10_000 }, 10_000);
    assert.equal((await b.tickets.take('ticket-hash'))?.user, 'alice');
    assert.deepEqual(await a.presence.join('chat:smoke', { user: 'alice', session: 's1', node: 'node-a' }), { firstForUser: true, seq: 1 });
    assert.deepEqual(await b.presence.members('chat:smoke'), [{ user: 'alice', sessions: 1 }]);
    const position = await a.history.append('chat:smoke', { dataJson: '"x"', fromJson: 'null' }, { size: 10, ttlMs: 10_000 });
    assert.deepEqual(await b.history.position('chat:smoke'), position);
    await a.registry.removeNode('node-a');
    await a.presence.removeSessions(['s1']);
  } finally {
    await a.close();
    await b.close();
  }
}
