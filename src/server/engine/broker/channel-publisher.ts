import type { StreamPosition } from '../../../protocol/frames.js';
import type { FrameTemplate } from '../../codec/broker-envelope.js';
import type { HistoryOptions } from '../history/history.js';

/** A channel publication before it has a place in the channel's stream. */
export interface ChannelPublication {
  /** The frame sockets receive, with holes for the offset and epoch. */
  template: FrameTemplate;
  /** The data as JSON text, kept in history as is. */
  dataJson: string;
  /** JSON of the sender, or `null`. */
  fromJson: string;
  /** The session that must not receive the frame (the publisher), or null. */
  excludeSession: string | null;
}

/**
 * Publishes channel publications: one sequence per channel.
 *
 * Guarantee: `publish` assigns the publication the channel's next offset (in the channel's epoch), keeps it in history
 * when `history.size > 0` (namespaces without history still get the per-channel counter and epoch), and hands the
 * envelope (`encodePublicationEnvelope`) to pub/sub in ONE atomic step per channel — nothing else of that channel can
 * come between the offset and the publish. Every node subscribed to the channel therefore receives its publications
 * in offset order within an epoch, whichever node published them. At most once: a publication lost by pub/sub (a
 * subscriber connection down) is not resent; it stays in history for recovery.
 *
 * Exception: `AppendThenPublish` (NATS as broker, Redis as store) cannot be atomic across two systems. It appends,
 * then publishes; the envelope carries the position and the receiving node re-sequences.
 *
 * Rejects with `PubSubUnavailableError` when the position was assigned but pub/sub refused the envelope, and with any
 * other error when the store did not (or may not have) assigned a position.
 */
export interface ChannelPublisher {
  publish(channel: string, publication: ChannelPublication, history: HistoryOptions): Promise<StreamPosition>;
}

/** The publication has its position (and history entry), but pub/sub refused it; `envelope` is what was to be sent. */
export class PubSubUnavailableError extends Error {
  override readonly name = 'PubSubUnavailableError';

  constructor(
    readonly position: StreamPosition,
    readonly envelope: Buffer,
    cause: unknown,
  ) {
    super(`pub/sub refused a publication at offset ${position.offset}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Where a broker counts the publications a publisher sent on its pub/sub (they appear in `BrokerStats.published`). */
export interface PublicationCounter {
  recordPublished(): void;
}
