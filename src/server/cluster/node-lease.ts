/**
 * Folder cluster/: this node's membership of the cluster — its lease, the purge of nodes whose lease expired, and the
 * cluster-wide state view (nodes, channel counts). It may import engine contracts, hub (read-only counts),
 * observability and webhooks events; what a purge removed is reported through an interface the node implements.
 */
import type { Engine } from '../engine/engine.js';
import type { PresenceLeave } from '../engine/presence/presence.js';
import type { ClusterState } from './cluster-state.js';
import type { NodeInfo, RemovedSession } from '../engine/registry/registry.js';
import type { Logger } from '../observability/logger.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';

/** Reports the leaves among presence memberships a purge removed (the node's channel service). */
export interface PurgedMembershipReporter {
  reportPurgedMemberships(removed: ReadonlyArray<{ channel: string; session: string } & PresenceLeave>): Promise<void>;
}

/**
 * Keeps this node's lease alive and purges nodes whose lease expired: exactly one live node claims a dead node,
 * removes its sessions from the registry, then from presence, and only then announces each `leave` once — so a
 * `leave` for a dead node's session proves both are gone. The purge reports what the dead node could not: its
 * sessions' ends, the users it took offline, the presence it held and the channels it held alone — each decided once
 * by the engine, however many nodes sweep.
 */
export class NodeLease {
  private heartbeatTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  /** No node is judged dead before this time (epoch ms). */
  private sweepsFrom = 0;

  constructor(
    private readonly info: NodeInfo,
    private readonly engine: Engine,
    private readonly channels: PurgedMembershipReporter,
    private readonly leaseMs: number,
    private readonly logger: Logger,
    private readonly events: LifecycleEvents,
    /** The node's cluster-wide state: its stats ride on each renewal, its channel counts follow it. */
    private readonly state?: Pick<ClusterState, 'describe' | 'report'>,
  ) {}

  async start(): Promise<void> {
    await this.purgeOwnLeftovers();
    await this.renew();
    // Renew three times per lease so one late beat does not look like a death.
    this.heartbeatTimer = setInterval(() => this.beat(), Math.max(200, Math.floor(this.leaseMs / 3)));
    this.heartbeatTimer.unref();
    this.sweepTimer = setInterval(() => void this.sweep(), Math.max(500, Math.floor(this.leaseMs / 2)));
    this.sweepTimer.unref();
  }

  /** Renews the lease now (after a store outage, before this node's sessions are registered again). */
  async renew(): Promise<void> {
    await this.engine.registry.heartbeat(this.state ? await this.state.describe() : this.info, this.leaseMs);
    await this.state?.report();
  }

  /**
   * The store went away: every lease may lapse meanwhile, the live nodes' too. Until the store is back and a whole
   * lease has passed — time for every live node to renew — no node is taken for dead.
   */
  engineLost(): void {
    this.sweepsFrom = Number.POSITIVE_INFINITY;
  }

  engineRestored(): void {
    this.sweepsFrom = Date.now() + this.leaseMs;
  }

  private beat(): void {
    this.renew().catch((error: unknown) => this.logger.warn({ err: error }, 'lease renewal failed'));
  }

  /**
   * A node restarted under a fixed id (`nodeId`) after a crash would renew the same lease and never be seen dead: its
   * previous life's sessions are removed here, with their leave events, before the lease is taken again.
   */
  private async purgeOwnLeftovers(): Promise<void> {
    const stale = await this.engine.registry.getNodeSessions(this.info.node);
    if (stale.length === 0) return;
    await this.purge(this.info.node, await this.engine.registry.removeNode(this.info.node));
    this.logger.info({ sessions: stale.length }, 'removed sessions left by this node id\'s previous run');
  }

  /** Everything a gone node left: session ends, users offline, presence (with leave events), channels it held. */
  private async purge(node: string, removed: RemovedSession[]): Promise<void> {
    for (const { record, offline } of removed) {
      this.events.sessionDisconnected(record, null, 'node lost');
      if (offline && record.user !== null) this.events.userOffline(record.user, record.session, offline.seq);
    }
    const memberships = await this.engine.presence.removeSessions(removed.map(({ record }) => record.session));
    await this.channels.reportPurgedMemberships(memberships);
    for (const { channel, seq } of await this.engine.channelIndex.removeNodeEverywhere(node)) this.events.channelVacated(channel, seq);
  }

  /** Finds dead nodes and cleans up those this node wins the claim for. */
  async sweep(): Promise<void> {
    if (Date.now() < this.sweepsFrom) return;
    try {
      const dead = await this.engine.registry.deadNodes();
      for (const node of dead) {
        if (node === this.info.node) continue;
        const sessions = await this.engine.registry.claimDeadNode(node);
        if (!sessions) continue;
        await this.purge(node, sessions);
        this.logger.info({ node, sessions: sessions.length }, 'purged a dead node');
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'dead node sweep failed');
    }
  }

  stop(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
  }
}
