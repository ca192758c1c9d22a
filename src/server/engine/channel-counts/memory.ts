import { systemClock, type Clock } from '../../time/clock.js';
import { byteOrder, mergePages, type ChannelCounts, type ChannelListQuery, type ChannelPage } from './channel-counts.js';

/** Shared state of memory channel counts, so several nodes in one process see one listing. */
export class MemoryChannelCountsState {
  readonly nodes = new Map<string, { counts: Map<string, number>; expiresAt: number }>();
}

/** A node's counts lapse `ttlMs` after its last report, on `clock`. */
export class MemoryChannelCounts implements ChannelCounts {
  private readonly now: Clock;

  constructor(private readonly state: MemoryChannelCountsState = new MemoryChannelCountsState(), { clock = systemClock }: { clock?: Clock } = {}) {
    this.now = clock;
  }

  private live(node: string): Map<string, number> | undefined {
    const entry = this.state.nodes.get(node);
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry.counts;
    this.state.nodes.delete(node);
    return undefined;
  }

  async report(node: string, changes: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    let entry = this.state.nodes.get(node);
    if (!entry || entry.expiresAt <= this.now()) this.state.nodes.set(node, (entry = { counts: new Map(), expiresAt: 0 }));
    entry.expiresAt = this.now() + ttlMs;
    for (const [channel, count] of changes) {
      if (count > 0) entry.counts.set(channel, count);
      else entry.counts.delete(channel);
    }
  }

  async drop(node: string): Promise<void> {
    this.state.nodes.delete(node);
  }

  async list(nodes: readonly string[], { prefix, cursor, limit }: ChannelListQuery): Promise<ChannelPage> {
    const pages = nodes.map((node) => {
      const counts = this.live(node);
      if (!counts) return [];
      return [...counts]
        .filter(([channel]) => channel.startsWith(prefix) && (cursor === undefined || byteOrder(channel, cursor) > 0))
        .sort(([a], [b]) => byteOrder(a, b))
        .slice(0, limit);
    });
    return mergePages(pages, limit);
  }

  async countsOf(channel: string, nodes: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const node of nodes) {
      const count = this.live(node)?.get(channel);
      if (count !== undefined) counts.set(node, count);
    }
    return counts;
  }

  async close(): Promise<void> {}
}
