import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { LocalSubscriptions } from './local-subscriptions.js';
import type { SessionLifecycle } from './session-lifecycle.js';

/** The node's lease as an outage concerns it. */
export interface LeaseDuringOutage {
  engineLost(): void;
  engineRestored(): void;
  renew(): Promise<void>;
}

/**
 * Reacts to the engine's health: a broker that came back leaves gaps to read from history; a store that came back
 * may be empty (a Redis without persistence), so the node registers its lease, sessions, presence and channels again.
 */
export class EngineRecovery {
  /** Set by an engine outage; the recovery that follows registers this node's state again. */
  private engineWasDown = false;

  constructor(
    private readonly hub: Hub,
    private readonly subscriptions: LocalSubscriptions,
    private readonly lifecycle: SessionLifecycle,
    private readonly lease: LeaseDuringOutage,
    private readonly occupancy: { reconcile(localChannels: Iterable<string>): Promise<void> },
    private readonly logger: Logger,
  ) {}

  /** The engine's `onHealthChange`. */
  onHealthChange(healthy: boolean): void {
    if (!healthy) {
      this.engineWasDown = true;
      this.lease.engineLost();
      this.logger.warn('engine connection lost');
      return;
    }
    // What the broker dropped while it was away is read from history now, or announced as lost.
    void this.subscriptions.resync();
    if (!this.engineWasDown) return;
    this.engineWasDown = false;
    this.lease.engineRestored();
    this.logger.warn('engine connection restored');
    void this.reassertState();
  }

  /** The store may have come back empty: lease first (so nobody takes this node for dead), then its sessions. */
  private async reassertState(): Promise<void> {
    try {
      await this.lease.renew();
      const sessions = await this.lifecycle.reassertAll();
      await this.occupancy.reconcile(this.hub.channelNames());
      this.logger.info({ sessions }, 'registered this node\'s sessions again after the engine outage');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not register sessions again after the engine outage');
    }
  }
}
