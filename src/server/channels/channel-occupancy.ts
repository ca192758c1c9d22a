import type { ChannelIndex } from '../engine/channel-index/channel-index.js';
import { RetryTimer } from '../engine/retry-timer.js';
import type { Logger } from '../observability/logger.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';

/** Channels re-recorded at once after an engine outage. */
const RECONCILE_BATCH = 100;

/**
 * Keeps the cluster-wide channel index in step with the channels this node holds (the node reports its first and last
 * local subscriber of a channel) and reports `channel.occupied` / `channel.vacated` when the index says this node's
 * change was the channel's first or last across the cluster. Changes of one channel are applied in the order they
 * happened. A change the engine could not take is remembered and tried again: on its own with backoff, and by
 * `reconcile` once the engine is back.
 */
export class ChannelOccupancy {
  private readonly chains = new Map<string, Promise<void>>();
  /** Held here, but not recorded in the index (the engine was away): occupied was never reported. */
  private readonly unrecorded = new Set<string>();
  /** Given up here, but still recorded in the index. */
  private readonly unremoved = new Set<string>();
  private readonly retries = new RetryTimer(() => this.retry());

  constructor(
    private readonly nodeId: string,
    private readonly index: ChannelIndex,
    private readonly events: LifecycleEvents,
    private readonly logger: Logger,
  ) {}

  /** Applies the changes the engine failed to take (also without an outage being noticed); throws if some fail again. */
  private async retry(): Promise<void> {
    for (const channel of [...this.unrecorded]) {
      this.unrecorded.delete(channel);
      this.chain(channel, () => this.record(channel));
    }
    for (const channel of [...this.unremoved]) this.chain(channel, () => this.unrecord(channel));
    await Promise.all([...this.chains.values()]);
    if (this.unrecorded.size > 0 || this.unremoved.size > 0) throw new Error('channel index changes still pending');
  }

  /** The node's first local subscriber of `channel`. */
  held(channel: string): void {
    this.chain(channel, () => this.record(channel));
  }

  /** The node's last local subscriber of `channel` left. */
  released(channel: string): void {
    this.chain(channel, async () => {
      // Never recorded, so never reported occupied: nothing to take back.
      if (this.unrecorded.delete(channel)) return;
      await this.unrecord(channel);
    });
  }

  private chain(channel: string, change: () => Promise<void>): void {
    const next = (this.chains.get(channel) ?? Promise.resolve()).then(change);
    this.chains.set(channel, next);
    void next.finally(() => {
      if (this.chains.get(channel) === next) this.chains.delete(channel);
    });
  }

  private async record(channel: string): Promise<void> {
    try {
      const { occupied } = await this.index.addNode(channel, this.nodeId);
      this.unremoved.delete(channel);
      if (occupied) this.events.channelOccupied(channel, occupied.seq);
    } catch (error) {
      this.unrecorded.add(channel);
      this.retries.schedule();
      this.logger.debug({ err: error, channel }, 'channel index update failed; retried');
    }
  }

  private async unrecord(channel: string): Promise<void> {
    try {
      const removed = await this.index.removeNode(channel, this.nodeId);
      this.unremoved.delete(channel);
      if (removed?.vacated) this.events.channelVacated(channel, removed.vacated.seq);
    } catch (error) {
      this.unremoved.add(channel);
      this.retries.schedule();
      this.logger.debug({ err: error, channel }, 'channel index update failed; retried');
    }
  }

  /**
   * After an engine outage: records what could not be recorded (reporting occupied where it is the first), takes out
   * what could not be taken out (reporting vacated), and records every other channel this node holds again without a
   * report — the store may have come back empty, and nobody saw those channels change.
   */
  async reconcile(localChannels: Iterable<string>): Promise<void> {
    const local = new Set(localChannels);
    await Promise.all([...this.chains.values()]);
    const changes: Array<[string, () => Promise<void>]> = [];
    for (const channel of [...this.unremoved]) if (!local.has(channel)) changes.push([channel, () => this.unrecord(channel)]);
    for (const channel of local) {
      if (this.unrecorded.delete(channel)) changes.push([channel, () => this.record(channel)]);
      else changes.push([channel, () => this.index.addNode(channel, this.nodeId).then(() => undefined, () => undefined)]);
    }
    // In batches, like the sessions' re-registration: a node with many channels must not burst them all at once.
    for (let i = 0; i < changes.length; i += RECONCILE_BATCH) {
      for (const [channel, change] of changes.slice(i, i + RECONCILE_BATCH)) this.chain(channel, change);
      await Promise.all([...this.chains.values()]);
    }
  }

  /** Waits for changes in flight (drain), then takes this node out of every channel it still holds. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.chains.values()]);
    for (const { channel, seq } of await this.index.removeNodeEverywhere(this.nodeId)) this.events.channelVacated(channel, seq);
  }
}
