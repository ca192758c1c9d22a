import type { Logger } from '../observability/logger.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';

/**
 * Reports `channel.subscription_count` after this node's subscriber count of a channel changed, with the cluster-wide
 * count read then (`count`: this node's live count plus what the other nodes last reported). Bounded per channel: one
 * read in flight, and changes made meanwhile folded into one more read after it; a count equal to the last one this
 * node reported is not reported again. Nothing is read while no endpoint wants the event, nor for channels `counted`
 * leaves out.
 */
export class SubscriptionCountReports {
  /** Channels with a read in flight, and whether they changed again since it started. */
  private readonly reading = new Map<string, boolean>();
  /** The last count reported per channel this node holds (dropped when the node holds it no more). */
  private readonly reported = new Map<string, number>();

  constructor(
    private readonly events: LifecycleEvents,
    private readonly count: (channel: string) => Promise<number>,
    private readonly holds: (channel: string) => boolean,
    private readonly counted: (channel: string) => boolean,
    private readonly logger: Logger,
  ) {}

  changed(channel: string): void {
    if (!this.events.wants('channel.subscription_count') || !this.counted(channel)) return;
    if (this.reading.has(channel)) {
      this.reading.set(channel, true);
      return;
    }
    this.reading.set(channel, false);
    void this.report(channel);
  }

  private async report(channel: string): Promise<void> {
    try {
      do {
        this.reading.set(channel, false);
        const subscribers = await this.count(channel);
        if (this.reported.get(channel) !== subscribers) this.events.channelSubscriptionCount(channel, subscribers);
        if (this.holds(channel)) this.reported.set(channel, subscribers);
        else this.reported.delete(channel);
      } while (this.reading.get(channel));
    } catch (error) {
      this.logger.debug({ err: error, channel }, 'subscription count not read; not reported');
    } finally {
      this.reading.delete(channel);
    }
  }
}
