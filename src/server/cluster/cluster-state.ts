import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ChannelCounts } from '../engine/channel-counts/channel-counts.js';
import type { NodeInfo, NodeStats } from '../engine/registry/registry.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

const { version: VERSION } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The package version this node runs. */
export const WSGATE_VERSION = VERSION;

export interface ClusterStateOptions {
  info: NodeInfo;
  hub: Pick<Hub, 'sessions' | 'userCount' | 'channelCount' | 'channelNames' | 'subscriberCount'>;
  /** What the node delivered locally so far: frames queued for sessions, publications fanned out. */
  delivered: { readonly deliveries: number; readonly publications: number };
  metrics: Metrics;
  counts: ChannelCounts;
  isDraining: () => boolean;
  /** The lease: counts expire with it. */
  leaseMs: number;
  /** Channels this node lists at most; the rest are counted in its stats but not listed. */
  maxIndexedChannels: number;
  logger: Logger;
  now?: () => number;
}

/**
 * This node's part of the cluster-wide state: a stats record carried by every lease renewal (no command of its own)
 * and its per-channel subscriber counts, sent as changes since the last report (one MULTI per renewal, a few bytes
 * when nothing changed). Costs one pass over the node's channels per renewal, nothing per delivery.
 */
export class ClusterState {
  private readonly loop = monitorEventLoopDelay({ resolution: 20 });
  private readonly now: () => number;
  private last: { at: number; deliveries: number; publications: number; errors: number };
  /** What the engine holds for this node (channel -> count), as last reported. */
  private reported = new Map<string, number>();
  private truncated = false;
  private reporting?: Promise<void>;

  constructor(private readonly options: ClusterStateOptions) {
    this.now = options.now ?? Date.now;
    this.last = { at: this.now(), deliveries: 0, publications: 0, errors: 0 };
    this.loop.enable();
  }

  /** The lease record: the node's identity with a fresh stats sample. */
  async describe(): Promise<NodeInfo> {
    return { ...this.options.info, stats: await this.sample() };
  }

  private async sample(): Promise<NodeStats> {
    const { hub, metrics, delivered } = this.options;
    const at = this.now();
    const errors = await errorTotal(metrics);
    const seconds = Math.max(0.001, (at - this.last.at) / 1000);
    let subscriptions = 0;
    for (const channel of hub.channelNames()) subscriptions += hub.subscriberCount(channel);
    const stats: NodeStats = {
      at,
      version: VERSION,
      draining: this.options.isDraining(),
      sessions: hub.sessions.size,
      users: hub.userCount,
      channels: hub.channelCount,
      subscriptions,
      deliveriesPerSecond: rate(delivered.deliveries - this.last.deliveries, seconds),
      publicationsPerSecond: rate(delivered.publications - this.last.publications, seconds),
      errorsPerSecond: rate(errors - this.last.errors, seconds),
      eventLoopLagMs: {
        mean: round(Number.isNaN(this.loop.mean) ? 0 : this.loop.mean / 1e6),
        max: round(this.loop.max / 1e6),
      },
      rssBytes: process.memoryUsage.rss(),
      channelsTruncated: this.truncated,
    };
    this.loop.reset();
    this.last = { at, deliveries: delivered.deliveries, publications: delivered.publications, errors };
    return stats;
  }

  /**
   * Sends the channel counts that changed since the last report, and extends the rest. Called with each lease
   * renewal, and before a listing so this node's own counts are current; concurrent calls share one report.
   */
  report(): Promise<void> {
    this.reporting ??= this.sendChanges().finally(() => (this.reporting = undefined));
    return this.reporting;
  }

  private async sendChanges(): Promise<void> {
    const { hub, maxIndexedChannels } = this.options;
    const changes = new Map<string, number>();
    const current = new Map<string, number>();
    let truncated = false;
    for (const channel of hub.channelNames()) {
      const count = hub.subscriberCount(channel);
      // Channels already listed keep their place; new ones wait for room.
      if (!this.reported.has(channel) && current.size >= maxIndexedChannels) {
        truncated = true;
        continue;
      }
      current.set(channel, count);
      if (this.reported.get(channel) !== count) changes.set(channel, count);
    }
    for (const channel of this.reported.keys()) if (!current.has(channel)) changes.set(channel, 0);
    try {
      await this.options.counts.report(this.options.info.node, changes, this.options.leaseMs);
      this.reported = current;
      this.truncated = truncated;
    } catch (error) {
      // Everything is sent again next time: the engine may have lost the keys meanwhile.
      this.reported = new Map();
      this.options.logger.debug({ err: error }, 'channel counts report failed');
    }
  }

  /** Takes this node's counts out of the engine (graceful stop). */
  async drop(): Promise<void> {
    this.loop.disable();
    await this.options.counts.drop(this.options.info.node);
  }
}

/** What the stats call errors: refused handshakes, malformed frames, rate-limited requests, slow consumers. */
async function errorTotal(metrics: Metrics): Promise<number> {
  const counters = [metrics.handshakeFailures, metrics.badFrames, metrics.rateLimited, metrics.slowConsumers];
  let total = 0;
  for (const counter of counters) for (const { value } of (await counter.get()).values) total += value;
  return total;
}

function rate(delta: number, seconds: number): number {
  return round(Math.max(0, delta) / seconds);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
