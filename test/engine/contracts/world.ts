import type { Broker, BrokerHandler } from '../../../src/server/engine/broker/broker.js';

/**
 * A fresh, empty shared state. Instances made from one world see each other, like the engines of several nodes.
 * Factories give each world its own key prefix, so worlds never see each other.
 */
export interface World<T> {
  /** Another instance on the same shared state (ideally with its own connection, as another node would have). */
  instance(): Promise<T>;
  close(): Promise<void>;
  /**
   * Lets `ms` pass on the clock the world's stores read. A memory world moves its injected clock; a world whose clock
   * is a server's (Redis expires keys itself) leaves this out and the time passes for real.
   */
  elapse?(ms: number): Promise<void>;
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

/** Lets `ms` pass for the stores of `world`: on its own clock when it has one, else for real. */
export async function elapse(world: { elapse?(ms: number): Promise<void> }, ms: number): Promise<void> {
  if (world.elapse) return world.elapse(ms);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

