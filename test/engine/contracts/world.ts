import type { Broker, BrokerHandler } from '../../../src/server/engine/broker/broker.js';

/**
 * A fresh, empty shared state. Instances made from one world see each other, like the engines of several nodes.
 * Factories give each world its own key prefix, so worlds never see each other.
 */
export interface World<T> {
  /** Another instance on the same shared state (ideally with its own connection, as another node would have). */
  instance(): Promise<T>;
  close(): Promise<void>;
}

export type WorldFactory<T> = () => Promise<World<T>>;

export interface BrokerWorld {
  /** A started broker for `nodeId`. */
  node(nodeId: string, handler: BrokerHandler): Promise<Broker>;
  close(): Promise<void>;
}

export type BrokerWorldFactory = () => Promise<BrokerWorld>;

/** Runs `body` with a fresh world and always closes it. */
export async function withWorld<W extends { close(): Promise<void> }>(factory: () => Promise<W>, body: (world: W) => Promise<void>): Promise<void> {
  const world = await factory();
  try {
    await body(world);
  } finally {
    await world.close();
  }
}
