import type { StreamPosition } from '../../../protocol/frames.js';
import type { HistoryOptions } from '../history/history.js';
import type { PubSubTarget, RedisHistoryStore } from '../history/redis.js';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import type { ChannelPublication, ChannelPublisher, PublicationCounter } from './channel-publisher.js';
import { PubSubName } from './subscription-book.js';

/**
 * Redis publisher: one script on the channel's instance (one Redis, the channel's shard by consistent hash, or the
 * channel's slot in a Redis Cluster) assigns the offset, appends, and PUBLISHes (SPUBLISHes on a cluster) the
 * envelope it builds. Redis runs scripts one at a time and writes a script's messages to subscribers in that order,
 * so the channel's publications leave Redis in offset order. The broker subscribes the same name on the same
 * instance (`RedisBroker`, `RedisClusterBroker`).
 */
export class RedisChannelPublisher implements ChannelPublisher {
  constructor(
    private readonly history: RedisHistoryStore,
    private readonly keyspace: RedisKeyspace,
    private readonly command: PubSubTarget['command'],
    private readonly counter: PublicationCounter,
  ) {}

  async publish(channel: string, publication: ChannelPublication, history: HistoryOptions): Promise<StreamPosition> {
    const target: PubSubTarget = { command: this.command, name: PubSubName.channel(this.keyspace, channel) };
    const stored = { dataJson: publication.dataJson, fromJson: publication.fromJson };
    const position = await this.history.appendAndPublish(channel, stored, history, target, publication.excludeSession, publication.template);
    this.counter.recordPublished();
    return position;
  }
}
