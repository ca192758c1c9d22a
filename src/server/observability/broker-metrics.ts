import { Counter, Gauge, type Registry } from 'prom-client';
import type { Broker } from '../engine/broker/broker.js';

/**
 * Exposes the broker's own counters (`Broker.stats()`) on the node's registry, read at scrape time: how many channel
 * publications and inbox messages crossed the broker in each direction, and how many channels the node listens to.
 * These are what shows that broker traffic is per interested node, not per session.
 */
export function registerBrokerMetrics(registry: Registry, broker: Broker): void {
  const publications: Counter<'direction'> = new Counter({
    name: 'wsgate_broker_publications_total',
    help: 'Channel publications sent to and received from the broker by this node',
    labelNames: ['direction'],
    registers: [registry],
    collect: () => mirror(publications, broker.stats().published, broker.stats().received),
  });
  const inbox: Counter<'direction'> = new Counter({
    name: 'wsgate_broker_inbox_messages_total',
    help: 'Node inbox messages sent to other nodes and received by this node through the broker',
    labelNames: ['direction'],
    registers: [registry],
    collect: () => mirror(inbox, broker.stats().inboxSent, broker.stats().inboxReceived),
  });
  const subscriptions: Gauge = new Gauge({
    name: 'wsgate_broker_subscriptions',
    help: 'Channels this node is subscribed to on the broker',
    registers: [registry],
    collect: () => subscriptions.set(broker.stats().subscriptions),
  });
}

/** The broker keeps the totals; the counter is set to them (reset + inc keeps the counter type for `rate()`). */
function mirror(counter: Counter<'direction'>, sent: number, received: number): void {
  counter.reset();
  counter.inc({ direction: 'sent' }, sent);
  counter.inc({ direction: 'received' }, received);
}
