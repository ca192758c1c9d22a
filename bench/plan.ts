import type { FanoutPlan } from './scenarios/fanout.js';
import type { ClusterStatePlan } from './scenarios/cluster-state.js';
import type { IdlePlan } from './scenarios/idle.js';
import type { TracingPlan } from './scenarios/tracing.js';
import type { PublicationsPlan } from './scenarios/publications.js';
import type { StreamingPlan } from './scenarios/streaming.js';

export type Mode = 'short' | 'full';

export interface BenchPlan {
  mode: Mode;
  fanout: FanoutPlan[];
  idle: IdlePlan;
  tracing: TracingPlan;
  /** The cost of the cluster-wide state: the same load on two nodes with `cluster.state` on, then off. */
  clusterState: ClusterStatePlan;
  /** Rounds are set at run time (`--rounds`). */
  publications: Omit<PublicationsPlan, 'rounds'>;
  /** SSE subscribers against WebSocket subscribers of one node, at one publication rate. */
  streaming: StreamingPlan;
  /** Same ping interval for every target, so idle connections all carry a heartbeat timer. */
  pingIntervalMs: number;
}

/** One sampled subscriber in 50 reads the timestamp; the rest only count. */
const SAMPLE_EVERY = 50;
/** Publications in flight while saturating: enough to keep a server busy, few enough to keep its queues small. */
const SATURATION_WINDOW = 20;

/**
 * Offered rates are chosen per N so the delivered rates match across N (10k–40k deliveries/s). The peers saturate
 * near 70–80k deliveries/s on the 2-core machine, so every fixed rate stays below saturation (zero loss expected) and
 * the lowest is where latency is compared.
 */
export const PLANS: Record<Mode, BenchPlan> = {
  short: {
    mode: 'short',
    pingIntervalMs: 5000,
    fanout: [
      { subscribers: 1000, ratesPerSec: [10, 40], durationMs: 5000, saturationWindow: SATURATION_WINDOW, sampleEvery: SAMPLE_EVERY },
    ],
    idle: { connections: 5000, holdMs: 6000, concurrency: 32, warmupConnections: 200 },
    tracing: { handshakes: 200, actions: 1000, clients: 20, publishes: 400, subscribers: 50, concurrency: 10, rounds: 4 },
    clusterState: { subscribers: 200, channels: 100, channelsPerSubscriber: 5, publicationsPerSec: 400, churnPerSec: 20, durationMs: 10_000 },
    publications: { inFlight: 16, durationMs: 5000, warmupMs: 1500 },
    streaming: { subscribers: 200, publicationsPerSec: 50, durationMs: 3000, rounds: 4 },
  },
  full: {
    mode: 'full',
    pingIntervalMs: 5000,
    fanout: [
      { subscribers: 1000, ratesPerSec: [10, 20, 40], durationMs: 10_000, saturationWindow: SATURATION_WINDOW, sampleEvery: SAMPLE_EVERY },
      { subscribers: 5000, ratesPerSec: [2, 4, 8], durationMs: 10_000, saturationWindow: SATURATION_WINDOW, sampleEvery: SAMPLE_EVERY },
    ],
    idle: { connections: 10_000, holdMs: 6000, concurrency: 32, warmupConnections: 200 },
    tracing: { handshakes: 3000, actions: 12_000, clients: 20, publishes: 5000, subscribers: 100, concurrency: 10, rounds: 4 },
    clusterState: { subscribers: 1000, channels: 1000, channelsPerSubscriber: 10, publicationsPerSec: 1000, churnPerSec: 50, durationMs: 20_000 },
    publications: { inFlight: 16, durationMs: 10_000, warmupMs: 2000 },
    streaming: { subscribers: 1000, publicationsPerSec: 40, durationMs: 10_000, rounds: 4 },
  },
};
