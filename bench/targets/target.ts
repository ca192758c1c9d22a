import type { ClientKind } from '../load/messages.js';

/** Memory of the server side of a target, summed over its nodes. */
export interface MemorySample {
  rssBytes: number;
  /** V8 heap in use after a forced GC; NaN when the process could not report it. */
  heapUsedBytes: number;
  /** Committed young generation at that moment (V8 sizes it by recent survival, not by what is live). */
  youngGenerationBytes?: number;
  /** Right after a memory-reducing collection (young generation shrunk, old generation compacted): what live objects
   * and native state hold. Single processes only. */
  reduced?: { rssBytes: number; heapUsedBytes: number; /** Memory V8 knows of outside its heap: buffers' backing stores, native objects. */ externalBytes?: number };
}

/** A target whose server processes are up. */
export interface RunningTarget {
  /** Base URL of each node; load clients spread over them. */
  urls: string[];
  /** Server processes whose CPU is charged to the target (every node; brokers are reported apart). */
  serverPids: number[];
  /** Helper processes the target needs (redis-server); their CPU is reported apart, not hidden. */
  helperPids: number[];
  /** Node the publisher (and its probe subscriber) use; `urls[0]` when absent. A cross-node wsgate publishes from a
   * node without subscribers, so every delivery crosses the broker. */
  publisherUrl?: string;
  /** Node of the probe subscriber (saturation's closed loop); `publisherUrl` when absent. */
  probeUrl?: string;
  /** Broker messages so far, summed over the nodes: channel publications sent to and received from the broker. */
  brokerCounters?(): Promise<BrokerCounters>;
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

export interface BrokerCounters {
  /** Publications the nodes handed to the broker. */
  sent: number;
  /** Publications the nodes received from the broker (one per interested node per publication). */
  received: number;
  /** Where the figures come from (node metrics, Redis CLIENT LIST, ...). */
  source: string;
  /** wsgate: the worst node's event-loop delay p99 / max (ms) since the previous read (prom-client resets its
   * histogram on every scrape of `/metrics`, so a read before and after a window gives that window's delay). */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
}

export interface StartOptions {
  /** Every target pings each idle connection on the same interval, so idle memory includes the same timers. */
  pingIntervalMs: number;
}

/**
 * A server under test. Adding one (a cross-node wsgate on Redis or NATS, say) means one file implementing this and
 * one line in bench/run.ts; the scenarios only see this interface.
 */
export interface Target {
  /** Name in tables and JSON, e.g. `wsgate`, `ws`, `socket.io`. */
  name: string;
  /** Wire protocol the load clients speak to it. */
  kind: ClientKind;
  /** How many server nodes it runs (cross-node targets: more than one; the publisher uses the first). */
  nodes: number;
  /** API key for ticket authentication on connect (wsgate only). */
  ticketApiKey?: string;
  /** Why the target cannot run here, or undefined when it can. */
  unavailableReason(): Promise<string | undefined>;
  /** Something the report must say about how it ran here (another Node than the bench's, say). */
  note?(): string | undefined;
  start(options: StartOptions): Promise<RunningTarget>;
}
