import type { StreamPosition } from '../../../protocol/frames.js';
import { encodePublicationEnvelope } from '../../codec/broker-envelope.js';
import type { HistoryOptions, HistoryStore } from '../history/history.js';
import type { Broker } from './broker.js';
import { PubSubUnavailableError, type ChannelPublication, type ChannelPublisher } from './channel-publisher.js';

/**
 * For a broker that cannot be atomic with the store (NATS with Redis): append, then publish. Two nodes may put offsets
 * N+1 and N on the wire in that order, so the receiving node re-sequences by the position each envelope carries.
 */
export class AppendThenPublish implements ChannelPublisher {
  constructor(
    private readonly history: HistoryStore,
    private readonly broker: Broker,
  ) {}

  async publish(channel: string, publication: ChannelPublication, history: HistoryOptions): Promise<StreamPosition> {
    const position = await this.history.append(channel, { dataJson: publication.dataJson, fromJson: publication.fromJson }, history);
    const envelope = encodePublicationEnvelope(publication.template, publication.excludeSession, position);
    try {
      await this.broker.publish(channel, envelope);
    } catch (error) {
      throw new PubSubUnavailableError(position, envelope, error);
    }
    return position;
  }
}
