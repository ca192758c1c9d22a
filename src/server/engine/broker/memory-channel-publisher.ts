import type { StreamPosition } from '../../../protocol/frames.js';
import { encodePublicationEnvelope } from '../../codec/broker-envelope.js';
import type { HistoryOptions } from '../history/history.js';
import type { MemoryHistoryStore } from '../history/memory.js';
import type { ChannelPublication, ChannelPublisher } from './channel-publisher.js';
import type { MemoryBroker } from './memory.js';

/**
 * The memory engine's publisher: the append and the hand-over to the bus happen in one synchronous step, so no other
 * publication of the process (of any in-process node) can come between them.
 */
export class MemoryChannelPublisher implements ChannelPublisher {
  constructor(
    private readonly history: MemoryHistoryStore,
    private readonly broker: MemoryBroker,
  ) {}

  async publish(channel: string, publication: ChannelPublication, history: HistoryOptions): Promise<StreamPosition> {
    const position = this.history.appendNow(channel, { dataJson: publication.dataJson, fromJson: publication.fromJson }, history);
    this.broker.publishNow(channel, encodePublicationEnvelope(publication.template, publication.excludeSession, position));
    return position;
  }
}
