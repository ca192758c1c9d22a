import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAs, type TestClient } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';
import { waitFor } from '../support/wait.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { uniquePrefix } from '../support/prefix.js';

const engines = {
  memory: () => ({ kind: 'memory' as const }),
  redis: () => ({ kind: 'redis' as const, redisUrls: [SHARED_REDIS_URL], prefix: uniquePrefix('churn') }),
};

for (const [name, engineConfig] of Object.entries(engines)) test(`${name}: after a churn of sessions and subscriptions, nothing of them is left on the node or in the engine`, async () => {
  const gw = await startGateway({ sessions: { max: 3, onLimit: 'kick-oldest' }, engine: engineConfig() });
  const { hub, engine } = gw.gateway;
  const channels = ['chat:c0', 'chat:c1', 'chat:c2', 'org:acme', 'org:acme/view:v1'];
  const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
  let state = 7;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const live = new Set<TestClient>();
  try {
    for (let step = 0; step < 300; step++) {
      const roll = random();
      if (live.size < 4 || roll < 0.2) {
        const client = await connectAs(gw, pick(users), { org: 'acme' });
        live.add(client);
        void client.closed.then(() => live.delete(client));
      } else if (roll < 0.35) {
        const client = pick([...live]);
        live.delete(client);
        if (random() < 0.5) client.ws.terminate();
        else client.ws.close(1000);
      } else if (roll < 0.65) {
        pick([...live]).send({ type: 'subscribe', id: `s${step}`, channel: pick(channels) });
      } else if (roll < 0.8) {
        pick([...live]).send({ type: 'unsubscribe', id: `u${step}`, channel: pick(channels) });
      } else {
        pick([...live]).send({ type: 'publish', id: `p${step}`, channel: pick(channels), data: step });
      }
      if (step % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const closing = [...live].map((client) => client.close());
    await Promise.all(closing);
    await waitFor(() => hub.sessions.size === 0 && hub.channelCount === 0, 5_000, 'the hub to empty');
    assert.equal(hub.userCount, 0);
    assert.equal(engine.broker.stats().subscriptions, 0, 'the node left every broker channel');
    await waitFor(async () => (await engine.registry.getNodeSessions(gw.gateway.nodeId)).length === 0, 5_000, 'the registry to empty');
    for (const user of users) assert.deepEqual(await engine.registry.getUserSessions(user), [], user);
    for (const channel of channels) assert.deepEqual(await engine.presence.members(channel), [], channel);
  } finally {
    await gw.stop();
  }
});
