import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Broker, BrokerHandler } from '../../../src/server/engine/broker/broker.js';
import { within } from '../../support/wait.js';
import { withWorld, type BrokerWorldFactory } from './world.js';

/** Records what a node received and lets a test await the next matching arrival. */
class Recorder implements BrokerHandler {
  readonly channel: Array<{ channel: string; payload: Buffer }> = [];
  readonly inbox: Buffer[] = [];
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  onChannelMessage(channel: string, payload: Buffer): void {
    this.channel.push({ channel, payload });
    this.check();
  }

  onInboxMessage(payload: Buffer): void {
    this.inbox.push(payload);
    this.check();
  }

  private check(): void {
    this.waiters = this.waiters.filter((waiter) => (waiter.test() ? (waiter.resolve(), false) : true));
  }

  until(test: () => boolean, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.waiters.push({ test, resolve })), 5000, what);
  }

  payloadsOf(channel: string): string[] {
    return this.channel.filter((message) => message.channel === channel).map((message) => message.payload.toString('latin1'));
  }
}

const bytes = (text: string) => Buffer.from(text, 'latin1');

/** The shared contract every `Broker` implementation must pass. */
export function brokerContract(name: string, factory: BrokerWorldFactory): void {
  describe(`Broker contract: ${name}`, () => {
    it('delivers a channel payload, byte for byte, only to the nodes subscribed to that channel', () =>
      withWorld(factory, async (world) => {
        const [ra, rb, rc] = [new Recorder(), new Recorder(), new Recorder()];
        const a = await world.node('node-a', ra);
        const b = await world.node('node-b', rb);
        const c = await world.node('node-c', rc);
        const channel = 'org:acme/view:order-17@x.y=+';
        await a.subscribe(channel);
        await b.subscribe(channel);
        await c.subscribe('chat:other');
        // Binary, including bytes that are not valid UTF-8: payloads must pass through unchanged.
        const payload = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xfe, 0x7b, 0x7d, 0x00]);
        await a.publish(channel, payload);
        await ra.until(() => ra.channel.length === 1, 'delivery to the publisher node');
        await rb.until(() => rb.channel.length === 1, 'delivery to node b');
        assert.equal(ra.channel[0].channel, channel);
        assert.ok(ra.channel[0].payload.equals(payload));
        assert.ok(rb.channel[0].payload.equals(payload));
        // A later publication c does receive: anything for `channel` would have reached c by now.
        await a.publish('chat:other', bytes('barrier'));
        await rc.until(() => rc.channel.length === 1, 'barrier on node c');
        assert.deepEqual(rc.payloadsOf('chat:other'), ['barrier']);
        assert.deepEqual(rc.payloadsOf(channel), []);
        assert.equal(ra.channel.length, 1);
      }));

    it('sends an inbox message to exactly one node', () =>
      withWorld(factory, async (world) => {
        const [ra, rb, rc] = [new Recorder(), new Recorder(), new Recorder()];
        const a = await world.node('node-a', ra);
        await world.node('node-b', rb);
        await world.node('node-c', rc);
        await a.sendToNode('node-b', bytes('for b'));
        await rb.until(() => rb.inbox.length === 1, 'inbox of b');
        await a.sendToNode('node-c', bytes('for c'));
        await rc.until(() => rc.inbox.length === 1, 'inbox of c');
        assert.deepEqual(rb.inbox.map((payload) => payload.toString()), ['for b']);
        assert.deepEqual(rc.inbox.map((payload) => payload.toString()), ['for c']);
        assert.equal(ra.inbox.length, 0);
        assert.equal(ra.channel.length + rb.channel.length + rc.channel.length, 0);
        // An inbox message to a node that does not exist is dropped, not an error.
        await a.sendToNode('node-gone', bytes('lost'));
      }));

    it('stops delivery after unsubscribe, and subscribe/unsubscribe are idempotent', () =>
      withWorld(factory, async (world) => {
        const [ra, rb] = [new Recorder(), new Recorder()];
        const a = await world.node('node-a', ra);
        const b = await world.node('node-b', rb);
        const channel = 'chat:lobby';
        await a.subscribe(channel);
        await b.subscribe(channel);
        await b.subscribe(channel);
        await a.publish(channel, bytes('one'));
        await rb.until(() => rb.channel.length === 1, 'first publication on b');
        await ra.until(() => ra.channel.length === 1, 'first publication on a');
        await b.unsubscribe(channel);
        await b.unsubscribe(channel);
        await a.publish(channel, bytes('two'));
        await ra.until(() => ra.channel.length === 2, 'second publication on a');
        // b's inbox is a barrier: anything still in flight to b would have come first from the same publisher.
        await a.sendToNode('node-b', bytes('barrier'));
        await rb.until(() => rb.inbox.length === 1, 'barrier on b');
        assert.deepEqual(rb.payloadsOf(channel), ['one']);
        assert.deepEqual(ra.payloadsOf(channel), ['one', 'two']);
        // Subscribing again resumes delivery.
        await b.subscribe(channel);
        await a.publish(channel, bytes('three'));
        await rb.until(() => rb.channel.length === 2, 'publication after resubscribe');
        assert.deepEqual(rb.payloadsOf(channel), ['one', 'three']);
      }));

    it('counts publications, receptions, inbox traffic and current subscriptions', () =>
      withWorld(factory, async (world) => {
        const [ra, rb] = [new Recorder(), new Recorder()];
        const a = await world.node('node-a', ra);
        const b = await world.node('node-b', rb);
        await a.subscribe('chat:1');
        await a.subscribe('chat:2');
        await b.subscribe('chat:1');
        assert.equal(a.stats().subscriptions, 2);
        assert.equal(b.stats().subscriptions, 1);
        await a.publish('chat:1', bytes('x'));
        await a.publish('chat:3', bytes('nobody listens'));
        await a.sendToNode('node-b', bytes('inbox'));
        await rb.until(() => rb.channel.length === 1 && rb.inbox.length === 1, 'deliveries on b');
        await ra.until(() => ra.channel.length === 1, 'delivery on a');
        assert.deepEqual(a.stats(), { published: 2, received: 1, inboxSent: 1, inboxReceived: 0, subscriptions: 2 });
        assert.deepEqual(b.stats(), { published: 0, received: 1, inboxSent: 0, inboxReceived: 1, subscriptions: 1 });
        await a.unsubscribe('chat:2');
        assert.equal(a.stats().subscriptions, 1);
        assert.equal(a.isHealthy(), true);
      }));

    it('keeps many channels apart', () =>
      withWorld(factory, async (world) => {
        const ra = new Recorder();
        const rb = new Recorder();
        const a = await world.node('node-a', ra);
        const b: Broker = await world.node('node-b', rb);
        const channels = Array.from({ length: 20 }, (_, i) => `room:${i}/sub.${i}`);
        await Promise.all(channels.map((channel) => b.subscribe(channel)));
        await Promise.all(channels.map((channel) => a.publish(channel, bytes(channel))));
        await rb.until(() => rb.channel.length === channels.length, 'every channel');
        for (const message of rb.channel) assert.equal(message.payload.toString(), message.channel);
      }));
  });
}
