import type { ChannelService } from '../channels/channel-service.js';
import type { Engine } from '../engine/engine.js';
import type { NodeInfo, SessionRecord } from '../engine/registry/registry.js';
import type { Logger } from '../observability/logger.js';

/**
 * Keeps this node's lease alive and purges nodes whose lease expired: exactly one live node claims a dead node,
 * removes its sessions from the registry, then from presence, and only then announces each `leave` once — so a
 * `leave` for a dead node's session proves both are gone.
 */
export class NodeLease {
  private heartbeatTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly info: NodeInfo,
    private readonly engine: Engine,
    private readonly channels: ChannelService,
    private readonly leaseMs: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.purgeOwnLeftovers();
    await this.engine.registry.heartbeat(this.info, this.leaseMs);
    // Renew three times per lease so one late beat does not look like a death.
    this.heartbeatTimer = setInterval(() => this.beat(), Math.max(200, Math.floor(this.leaseMs / 3)));
    this.heartbeatTimer.unref();
    this.sweepTimer = setInterval(() => void this.sweep(), Math.max(500, Math.floor(this.leaseMs / 2)));
    this.sweepTimer.unref();
  }

  /** Renews the lease now (after a store outage, before this node's sessions are registered again). */
  renew(): Promise<void> {
    return this.engine.registry.heartbeat(this.info, this.leaseMs);
  }

  private beat(): void {
    this.engine.registry.heartbeat(this.info, this.leaseMs).catch((error: unknown) => this.logger.warn({ err: error }, 'lease renewal failed'));
  }

  /**
   * A node restarted under a fixed id (`nodeId`) after a crash would renew the same lease and never be seen dead: its
   * previous life's sessions are removed here, with their leave events, before the lease is taken again.
   */
  private async purgeOwnLeftovers(): Promise<void> {
    const stale = await this.engine.registry.getNodeSessions(this.info.node);
    if (stale.length === 0) return;
    await this.engine.registry.removeNode(this.info.node);
    await this.purgePresence(stale);
    this.logger.info({ sessions: stale.length }, 'removed sessions left by this node id\'s previous run');
  }

  private async purgePresence(sessions: SessionRecord[]): Promise<void> {
    const removed = await this.engine.presence.removeSessions(sessions.map((record) => record.session));
    for (const entry of removed) if (entry.lastForUser) await this.channels.announceLeave(entry.channel, entry.user, entry.session);
  }

  /** Finds dead nodes and cleans up those this node wins the claim for. */
  async sweep(): Promise<void> {
    try {
      const dead = await this.engine.registry.deadNodes();
      for (const node of dead) {
        if (node === this.info.node) continue;
        const sessions = await this.engine.registry.claimDeadNode(node);
        if (!sessions) continue;
        await this.purgePresence(sessions);
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
