import type { ChannelPage } from '../engine/channel-counts/channel-counts.js';
import type { Engine } from '../engine/engine.js';
import type { NodeStats } from '../engine/registry/registry.js';
import type { Hub } from '../hub/hub.js';
import type { ClusterState } from './cluster-state.js';

/** What the view reads of the node answering. */
export interface ClusterViewSource {
  readonly nodeId: string;
  readonly startedAt: number;
  readonly engine: Pick<Engine, 'registry' | 'channelIndex' | 'channelCounts'>;
  readonly hub: Pick<Hub, 'channelNames' | 'subscriberCount'>;
  readonly clusterState?: Pick<ClusterState, 'report'>;
  isDraining(): boolean;
}

/** A live node as operators see it. */
export interface NodeView {
  node: string;
  host: string | null;
  startedAt: string;
  state: 'live' | 'draining';
  /** Milliseconds since the node last renewed its lease (with its stats); null without stats. */
  leaseAgeMs: number | null;
  /** True for the node answering. */
  self: boolean;
  stats: NodeStats | null;
}

/** Sums over the live nodes. */
export interface ClusterTotals {
  nodes: number;
  sessions: number;
  subscriptions: number;
  deliveriesPerSecond: number;
  publicationsPerSecond: number;
  errorsPerSecond: number;
}

/**
 * The cluster read from the engine: live nodes with their stats, channels with subscriber counts. With
 * `cluster.state` off (or the memory engine alone) the answers are this node's own, in the same shapes.
 */
export class ClusterView {
  constructor(private readonly context: ClusterViewSource) {}

  async nodes(): Promise<NodeView[]> {
    const now = Date.now();
    // With the store unreachable the node still answers for itself.
    const live = await this.context.engine.registry.liveNodes().catch(() => []);
    const views = live.map((info): NodeView => ({
      node: info.node,
      host: info.host ?? null,
      startedAt: new Date(info.startedAt).toISOString(),
      state: info.stats?.draining || (info.node === this.context.nodeId && this.context.isDraining()) ? 'draining' : 'live',
      leaseAgeMs: info.stats ? Math.max(0, now - info.stats.at) : null,
      self: info.node === this.context.nodeId,
      stats: info.stats ?? null,
    }));
    // A node whose lease is being renewed right now, or whose store is down, still answers for itself.
    if (!views.some((view) => view.self)) views.push(this.self());
    return views.sort((a, b) => a.node.localeCompare(b.node));
  }

  private self(): NodeView {
    const { context } = this;
    return {
      node: context.nodeId, host: null, startedAt: new Date(context.startedAt).toISOString(),
      state: context.isDraining() ? 'draining' : 'live', leaseAgeMs: null, self: true,
      stats: null,
    };
  }

  static totals(nodes: readonly NodeView[]): ClusterTotals {
    const sum = (pick: (stats: NodeStats) => number) => Math.round(nodes.reduce((total, node) => total + (node.stats ? pick(node.stats) : 0), 0) * 100) / 100;
    return {
      nodes: nodes.length,
      sessions: sum((stats) => stats.sessions),
      subscriptions: sum((stats) => stats.subscriptions),
      deliveriesPerSecond: sum((stats) => stats.deliveriesPerSecond),
      publicationsPerSecond: sum((stats) => stats.publicationsPerSecond),
      errorsPerSecond: sum((stats) => stats.errorsPerSecond),
    };
  }

  /** A page of channels by prefix; this node's counts are reported first, so they are current. */
  async channels(prefix: string, cursor: string | undefined, limit: number): Promise<ChannelPage> {
    const { context } = this;
    if (!context.clusterState) return this.localChannels(prefix, cursor, limit);
    await context.clusterState.report();
    const nodes = (await context.engine.registry.liveNodes()).map((info) => info.node);
    if (!nodes.includes(context.nodeId)) nodes.push(context.nodeId);
    return context.engine.channelCounts.list(nodes, { prefix, cursor, limit });
  }

  private localChannels(prefix: string, cursor: string | undefined, limit: number): ChannelPage {
    const { hub } = this.context;
    const names = [...hub.channelNames()].filter((name) => name.startsWith(prefix) && (cursor === undefined || name > cursor)).sort();
    const page = names.slice(0, limit);
    return {
      channels: page.map((channel) => ({ channel, subscribers: hub.subscriberCount(channel), nodes: 1 })),
      cursor: names.length > page.length ? page[page.length - 1]! : null,
    };
  }

  /** The channel's subscribers on each node that holds it (the channel index says which), this node's counted live. */
  async channel(channel: string): Promise<{ subscribers: number; nodes: Array<{ node: string; subscribers: number }> }> {
    const { context } = this;
    const local = context.hub.subscriberCount(channel);
    const perNode = new Map<string, number>();
    if (context.clusterState) {
      // A dead node stays in the channel index until it is purged; its lease says at once that it is gone.
      const [indexed, live] = await Promise.all([context.engine.channelIndex.nodesOf(channel), context.engine.registry.liveNodes()]);
      const alive = new Set(live.map((info) => info.node));
      const holders = indexed.filter((node) => node !== context.nodeId && alive.has(node));
      for (const [node, count] of await context.engine.channelCounts.countsOf(channel, holders)) perNode.set(node, count);
    }
    if (local > 0) perNode.set(context.nodeId, local);
    const nodes = [...perNode].map(([node, subscribers]) => ({ node, subscribers })).sort((a, b) => a.node.localeCompare(b.node));
    return { subscribers: nodes.reduce((total, entry) => total + entry.subscribers, 0), nodes };
  }
}
