import type { StreamPosition } from '../../../protocol/frames.js';
import type { FrameTemplate } from '../../codec/broker-envelope.js';
import type { HistoryOptions } from '../history/history.js';
import { APPEND_STEP, appendArgs, streamKeys } from '../history/redis-stream.js';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { LuaScript } from '../keyspace/lua-script.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { ChannelPublication, ChannelPublisher, PublicationCounter } from './channel-publisher.js';
import { PubSubName } from './subscription-book.js';

/**
 * APPEND_STEP, then the envelope to pub/sub in the same script, so the channel's offsets enter pub/sub in order.
 * ARGV 6..13: pub/sub command (PUBLISH, or SPUBLISH on a cluster: the name carries the channel's hash tag, so it is
 * the keys' slot), pub/sub name, excluded session, and the frame template (before offset, before epoch, after epoch).
 * When the entry body ARGV[5] holds the data, the template's after-epoch part comes as the piece before the data
 * (ARGV[11]), the piece after it (ARGV[12]) and the data's length in bytes (ARGV[13]), so the data crosses to Redis
 * once; otherwise ARGV[11] is the whole after-epoch part and ARGV[13] is empty.
 * The envelope is the bytes of `encodePublicationEnvelope`: `\x02<offset> <epoch> <exclude>\n<frame>`.
 */
const APPEND_AND_PUBLISH = new LuaScript(`${APPEND_STEP}
local digits = string.format('%d', offset)
local afterEpoch = ARGV[11]
if ARGV[13] ~= '' then afterEpoch = ARGV[11] .. string.sub(ARGV[5], -tonumber(ARGV[13])) .. ARGV[12] end
local frame = ARGV[9] .. digits .. ARGV[10] .. epoch .. afterEpoch
redis.call(ARGV[6], ARGV[7], '\\2' .. digits .. ' ' .. epoch .. ' ' .. ARGV[8] .. '\\n' .. frame)
return { offset, epoch }
`);

/**
 * Redis publisher: one script on the channel's instance (one Redis, the channel's shard by consistent hash, or the
 * channel's slot in a Redis Cluster) assigns the offset, appends, and PUBLISHes (SPUBLISHes on a cluster) the
 * envelope it builds. Redis runs scripts one at a time and writes a script's messages to subscribers in that order,
 * so the channel's publications leave Redis in offset order. The broker subscribes the same name on the same
 * instance (`RedisBroker`, `RedisClusterBroker`).
 */
export class RedisChannelPublisher implements ChannelPublisher {
  constructor(
    private readonly keyspace: RedisKeyspace,
    private readonly command: 'PUBLISH' | 'SPUBLISH',
    private readonly counter: PublicationCounter,
  ) {}

  async publish(channel: string, publication: ChannelPublication, history: HistoryOptions): Promise<StreamPosition> {
    const append = appendArgs(publication, history);
    const [offset, epoch] = (await APPEND_AND_PUBLISH.run(this.keyspace.client(RoutingTag.channel(channel)), streamKeys(this.keyspace, channel), [
      ...append,
      this.command,
      PubSubName.channel(this.keyspace, channel),
      publication.excludeSession ?? '',
      publication.template.beforeOffset,
      publication.template.beforeEpoch,
      ...afterEpochArgs(publication.template, publication.dataJson, append[4] !== ''),
    ])) as [number, string];
    this.counter.recordPublished();
    return { offset, epoch };
  }
}

/** ARGV 11..13 of APPEND_AND_PUBLISH: the after-epoch part around the data when the entry body carries it. */
function afterEpochArgs(template: FrameTemplate, dataJson: string, bodyHasData: boolean): [string, string, string | number] {
  const at = bodyHasData && dataJson.length > 0 ? template.afterEpoch.lastIndexOf(dataJson) : -1;
  if (at < 0) return [template.afterEpoch, '', ''];
  return [template.afterEpoch.slice(0, at), template.afterEpoch.slice(at + dataJson.length), Buffer.byteLength(dataJson)];
}
