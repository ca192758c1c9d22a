import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrokerHandler } from '../../src/server/engine/broker/broker.js';
import { NatsBroker } from '../../src/server/engine/broker/nats.js';
import { channelSubject, inboxSubject, subjectToken } from '../../src/server/engine/broker/nats-subject.js';
import { uniquePrefix } from '../support/prefix.js';
import { SHARED_NATS_URL, SHARED_REDIS_URL, startNats, type ServerProcess } from '../support/servers.js';
import { deferred, within } from '../support/wait.js';
import { brokerContract } from './contracts/broker.js';
import { orderedPublishContract } from './contracts/ordered-publish.js';
import { configuredEngines } from './redis-worlds.js';

// The shared NATS server; each world has its own subject prefix.
brokerContract('nats', async () => {
  const prefix = uniquePrefix('broker');
  const opened: NatsBroker[] = [];
  return {
    async node(nodeId, handler) {
      const broker = new NatsBroker({ servers: [SHARED_NATS_URL], prefix });
      opened.push(broker);
      await broker.start(nodeId, handler);
      return broker;
    },
    async close() {
      await Promise.all(opened.map((broker) => broker.close()));
    },
  };
});

// NATS with Redis as the store cannot be atomic: every offset arrives once, and the receiving node re-sequences.
orderedPublishContract('nats + redis', configuredEngines('nats', () => [SHARED_REDIS_URL], { natsUrls: () => [SHARED_NATS_URL], cleanupUrls: () => [SHARED_REDIS_URL] }), { ordered: false });

describe('NATS subjects', () => {
  it('encode channel names into single subject-safe tokens, without collisions', () => {
    assert.equal(subjectToken('org:acme/view:order-17'), 'org_3Aacme_2Fview_3Aorder-17');
    const names = ['a.b', 'a_b', 'a_2Eb', 'a*b', 'a>b', 'a b', 'é', 'chat:lobby', 'x@y=z+1'];
    const tokens = names.map(subjectToken);
    assert.equal(new Set(tokens).size, names.length);
    for (const token of tokens) assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.equal(channelSubject('wsgate.prod', 'chat:a.b'), 'wsgate_2Eprod.c.chat_3Aa_2Eb');
    assert.equal(inboxSubject('wsgate', 'node-1'), 'wsgate.n.node-1');
  });
});

describe('NATS broker across a NATS restart', () => {
  let nats: ServerProcess;
  before(async () => {
    nats = await startNats();
  });
  after(() => nats.stop());

  it('reports unhealthy while NATS is down, then healthy with subscriptions restored, and delivers again', async () => {
    const health: boolean[] = [];
    let healthChanged = deferred<boolean>();
    let delivered = deferred<string>();
    const handler: BrokerHandler = {
      onChannelMessage: (channel, payload) => delivered.resolve(`${channel}=${payload}`),
      onInboxMessage: (payload) => delivered.resolve(`inbox=${payload}`),
      onHealthChange(healthy) {
        health.push(healthy);
        healthChanged.resolve(healthy);
      },
    };
    const nextHealth = () => within(healthChanged.promise.finally(() => (healthChanged = deferred())), 15_000, 'a health change');
    const nextDelivery = () => within(delivered.promise.finally(() => (delivered = deferred())), 5000, 'a delivery');
    const broker = new NatsBroker({ servers: [nats.url], prefix: uniquePrefix('outage'), connectionOptions: { reconnectTimeWait: 100 } });
    const started = nextHealth();
    await broker.start('node-a', handler);
    assert.equal(await started, true);
    await broker.subscribe('org:acme/view:order-17');
    try {
      let delivery = nextDelivery();
      await broker.publish('org:acme/view:order-17', Buffer.from('before'));
      assert.equal(await delivery, 'org:acme/view:order-17=before');

      let change = nextHealth();
      await nats.stop();
      assert.equal(await change, false);
      change = nextHealth();
      await nats.restart();
      assert.equal(await change, true);

      delivery = nextDelivery();
      await broker.publish('org:acme/view:order-17', Buffer.from('after'));
      assert.equal(await delivery, 'org:acme/view:order-17=after');
      delivery = nextDelivery();
      await broker.sendToNode('node-a', Buffer.from('hello'));
      assert.equal(await delivery, 'inbox=hello');
      assert.deepEqual(health, [true, false, true]);
    } finally {
      await broker.close();
    }
  });
});
