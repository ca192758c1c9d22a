import { CloseCode, Disconnects } from '../../protocol/close-codes.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { Session } from '../session/session.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';
import type { ChannelService } from './channel-service.js';
import type { SessionLifecycle } from './session-lifecycle.js';

/** The node's state outside the registry and presence, removed once its sessions are gone. */
export interface NodeOwnedState {
  /** The node's channel counts (cluster state); absent with `cluster.state` off. */
  clusterState?: { drop(): Promise<void> };
  /** The node's entries in the cluster-wide channel index. */
  occupancy: { releaseAll(): Promise<void> };
}

/** What the composition root does at each stage of a drain: the parts of the node that are not sessions. */
export interface DrainStages {
  /** The drain has begun: stop taking new connections where the listener can go. */
  stopAccepting(): void;
  /** WebSockets still open; the drain waits for them so close frames reach the clients. */
  openSockets(): number;
  /** Sessions are gone (or the deadline passed): timers stop before the node's state is removed. */
  sessionsEnded(): void;
  /** The node's state left the store: everything else closes, with `deadline` for what hands work over. */
  close(deadline: number): Promise<void>;
}

/** Whether the node drains: set once, at the first shutdown signal; read by admission, health and cluster stats. */
export class DrainState {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  begin(): void {
    this.draining = true;
  }
}


/**
 * Graceful drain: refuse new sessions (readyz fails, upgrades get 503), tell sessions to reconnect elsewhere in
 * batches with jittered `after` hints, remove this node from the registry, and close. Finishes when done or when
 * `drain.timeoutMs` has passed.
 */
export class NodeDrain {
  constructor(
    private readonly state: DrainState,
    private readonly config: Readonly<Config['drain']>,
    private readonly nodeId: string,
    private readonly hub: Hub,
    private readonly lifecycle: SessionLifecycle,
    private readonly channels: Pick<ChannelService, 'reportPurgedMemberships'>,
    private readonly engine: Pick<Engine, 'presence' | 'registry'>,
    private readonly events: LifecycleEvents,
    private readonly owned: NodeOwnedState,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /** Ends a session that was past the admission check when the drain began, as the drain ends the others. */
  turnAway(session: Session): void {
    this.lifecycle.disconnect(session, Disconnects.SERVICE_RESTART, this.reconnectDelay());
  }

  async run(stages: DrainStages): Promise<void> {
    this.state.begin();
    stages.stopAccepting();
    const { batchSize, batchIntervalMs, timeoutMs } = this.config;
    // Sessions get most of the budget; the rest is for removing state, handing webhook partitions over and closing.
    const reserve = Math.min(1_000, Math.floor(timeoutMs / 4));
    const deadline = Date.now() + timeoutMs - reserve;
    this.logger.info({ sessions: this.hub.sessions.size }, 'draining');
    const drained: string[] = [];
    const sessions = [...this.hub.sessions.values()];
    for (let i = 0; i < sessions.length; i += batchSize) {
      for (const session of sessions.slice(i, i + batchSize)) {
        drained.push(session.id);
        this.turnAway(session);
      }
      if (i + batchSize < sessions.length && Date.now() < deadline) await delay(batchIntervalMs);
    }
    // Sessions that were still being opened when the drain began.
    for (const session of this.hub.sessions.values()) {
      drained.push(session.id);
      this.turnAway(session);
    }
    await this.waitForSessions(deadline, stages);
    stages.sessionsEnded();
    await this.removeNodeState(drained);
    await stages.close(deadline + reserve / 2);
    this.logger.info({ sessions: drained.length }, 'stopped');
  }

  /** A jittered reconnect hint, so clients of a drained node do not all come back at the same instant. */
  private reconnectDelay(): number {
    return Math.floor(this.random() * this.config.reconnectSpreadMs);
  }

  /**
   * Leaves nothing of this node in the shared store: presence of every drained session (each session's own cleanup
   * usually got there first; this catches those still in flight or cut off by the deadline, and announces their
   * leaves) and the node's lease and registry entries.
   */
  private async removeNodeState(sessionIds: string[]): Promise<void> {
    try {
      const removed = await this.engine.presence.removeSessions(sessionIds);
      await this.channels.reportPurgedMemberships(removed);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the presence of drained sessions');
    }
    try {
      const reported = new Set(sessionIds);
      for (const { record, offline } of await this.engine.registry.removeNode(this.nodeId)) {
        // Drained sessions reported their end when they closed; the removal may still be what took their user offline.
        if (!reported.has(record.session)) this.events.sessionDisconnected(record, CloseCode.SERVICE_RESTART, 'node is restarting');
        if (offline && record.user !== null) this.events.userOffline(record.user, record.session, offline.seq);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the node from the registry');
    }
    try {
      await this.owned.clusterState?.drop();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the node\'s channel counts');
    }
    try {
      await this.owned.occupancy.releaseAll();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the node from the channel index');
    }
  }

  private async waitForSessions(deadline: number, stages: DrainStages): Promise<void> {
    while ((this.hub.sessions.size > 0 || stages.openSockets() > 0) && Date.now() < deadline) await delay(20);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
