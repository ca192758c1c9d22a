import { MemoryBroker, MemoryBus } from '../../src/server/engine/broker/memory.js';
import type { Broker } from '../../src/server/engine/broker/broker.js';
import { MemoryHistoryState, MemoryHistoryStore } from '../../src/server/engine/history/memory.js';
import { MemoryPresenceState, MemoryPresenceStore } from '../../src/server/engine/presence/memory.js';
import { MemoryRegistry, MemoryRegistryState } from '../../src/server/engine/registry/memory.js';
import { MemoryTicketStore } from '../../src/server/engine/tickets/memory.js';
import { brokerContract } from './contracts/broker.js';
import { historyContract } from './contracts/history.js';
import { presenceContract } from './contracts/presence.js';
import { registryContract } from './contracts/registry.js';
import { ticketsContract } from './contracts/tickets.js';
import { idempotencyContract } from './contracts/idempotency.js';
import { actionRoutesContract } from './contracts/action-routes.js';
import { MemoryActionRouteStore } from '../../src/server/engine/action-routes/memory.js';
import { MemoryIdempotencyStore } from '../../src/server/engine/idempotency/memory.js';
import { MemoryRevocationStore } from '../../src/server/engine/revocations/memory.js';
import { revocationsContract } from './contracts/revocations.js';
import type { World } from './contracts/world.js';
import { TestClock } from '../support/clock.js';
import type { Clock } from '../../src/server/time/clock.js';
import { channelIndexContract } from './contracts/channel-index.js';
import { channelCountsContract } from './contracts/channel-counts.js';
import { MemoryChannelCounts, MemoryChannelCountsState } from '../../src/server/engine/channel-counts/memory.js';
import { webhookQueueContract } from './contracts/webhook-queue.js';
import { MemoryChannelIndex, MemoryChannelIndexState } from '../../src/server/engine/channel-index/memory.js';
import { MemoryWebhookQueue } from '../../src/server/engine/webhook-queue/memory.js';
import { rateLimitsContract } from './contracts/rate-limits.js';
import { MemoryRateLimitStore } from '../../src/server/engine/rate-limits/memory.js';
import { MemoryCluster, MemoryEngine } from '../../src/server/engine/memory.js';
import { engineWorld, orderedPublishContract } from './contracts/ordered-publish.js';

/**
 * A world of memory stores sharing one state object and one clock the contract moves, closing every instance it
 * handed out.
 */
function memoryWorld<S, T extends { close(): Promise<void> }>(state: S, make: (state: S, clock: Clock) => T): World<T> {
  const clock = new TestClock();
  const made: T[] = [];
  return {
    async instance() {
      const instance = make(state, clock.now);
      made.push(instance);
      return instance;
    },
    async close() {
      await Promise.all(made.map((instance) => instance.close()));
    },
    elapse: (ms) => clock.elapse(ms),
  };
}

/** A world of one store that every instance shares (as the nodes of a MemoryCluster do), on a clock the contract moves. */
function sharedStoreWorld<T>(make: (clock: Clock) => T, close: (store: T) => Promise<void> = async () => {}): World<T> {
  const clock = new TestClock();
  const store = make(clock.now);
  return { instance: async () => store, close: () => close(store), elapse: (ms) => clock.elapse(ms) };
}

brokerContract('memory', async () => {
  const bus = new MemoryBus();
  const nodes: Broker[] = [];
  return {
    async node(nodeId, handler) {
      const broker = new MemoryBroker(bus);
      await broker.start(nodeId, handler);
      nodes.push(broker);
      return broker;
    },
    async close() {
      await Promise.all(nodes.map((broker) => broker.close()));
    },
  };
});
registryContract('memory', async () => memoryWorld(new MemoryRegistryState(), (state, clock) => new MemoryRegistry(state, { clock })));
presenceContract('memory', async () => memoryWorld(new MemoryPresenceState(), (state) => new MemoryPresenceStore(state)));
historyContract('memory', async () => memoryWorld(new MemoryHistoryState(), (state, clock) => new MemoryHistoryStore(state, { clock })));
// Memory tickets are one store per cluster (MemoryCluster shares the instance), so every "node" gets the same store.
ticketsContract('memory', async () => sharedStoreWorld((clock) => new MemoryTicketStore({ clock }), (store) => store.close()));
// Like tickets, one idempotency store serves every in-process node of a MemoryCluster.
idempotencyContract('memory', async () => sharedStoreWorld((clock) => new MemoryIdempotencyStore({ clock })));
actionRoutesContract('memory', async () => sharedStoreWorld((clock) => new MemoryActionRouteStore({ clock })));
channelIndexContract('memory', async () => memoryWorld(new MemoryChannelIndexState(), (state) => new MemoryChannelIndex(state)));
channelCountsContract('memory', async () => memoryWorld(new MemoryChannelCountsState(), (state, clock) => new MemoryChannelCounts(state, { clock })));
// One queue per MemoryCluster, like tickets.
webhookQueueContract('memory', async () => sharedStoreWorld((clock) => new MemoryWebhookQueue({ clock })));
// One revocation store serves every in-process node of a MemoryCluster.
revocationsContract('memory', async () => sharedStoreWorld((clock) => new MemoryRevocationStore({ clock })));
// One rate-limit store per MemoryCluster, like tickets.
rateLimitsContract('memory', async () => sharedStoreWorld((clock) => new MemoryRateLimitStore({ clock })));

const memoryCluster = () => {
  const cluster = new MemoryCluster();
  return engineWorld(() => new MemoryEngine(cluster))();
};
orderedPublishContract('memory', memoryCluster);
