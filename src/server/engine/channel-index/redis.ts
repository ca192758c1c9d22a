import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import { addMember, takeMember } from '../keyspace/transitions.js';
import type { ChannelIndex, ChannelTransition } from './channel-index.js';

/**
 * Channel index in Redis: per channel a hash `{c:<channel>}:nodes` (node -> since, epoch ms) and its transition
 * counter `{c:<channel>}:occupancy` (see keyspace/transitions.ts), changed by Lua scripts on the channel's shard (slot), so occupied/vacated are decided
 * atomically; per node a set `{n:<node>}:channels`, written before a node is added and after it is removed, so a
 * crash in between leaves an entry `removeNodeEverywhere` still finds.
 */
export class RedisChannelIndex implements ChannelIndex {
  constructor(private readonly keyspace: RedisKeyspace) {}

  private channelKeys(channel: string): [string, string] {
    const tag = RoutingTag.channel(channel);
    return [this.keyspace.key(tag, 'nodes'), this.keyspace.key(tag, 'occupancy')];
  }
  private nodeKey(node: string) {
    return this.keyspace.key(RoutingTag.node(node), 'channels');
  }

  async addNode(channel: string, node: string): Promise<{ occupied: ChannelTransition | null }> {
    await this.keyspace.client(RoutingTag.node(node)).sadd(this.nodeKey(node), channel);
    const [hash, counter] = this.channelKeys(channel);
    return { occupied: await addMember(this.keyspace.client(RoutingTag.channel(channel)), hash, counter, node, String(Date.now())) };
  }

  async removeNode(channel: string, node: string): Promise<{ vacated: ChannelTransition | null } | null> {
    const result = await this.remove(channel, node);
    await this.keyspace.client(RoutingTag.node(node)).srem(this.nodeKey(node), channel);
    return result;
  }

  private async remove(channel: string, node: string): Promise<{ vacated: ChannelTransition | null } | null> {
    const [hash, counter] = this.channelKeys(channel);
    const taken = await takeMember(this.keyspace.client(RoutingTag.channel(channel)), hash, counter, node);
    return taken === undefined ? null : { vacated: taken };
  }

  async removeNodeEverywhere(node: string): Promise<Array<{ channel: string } & ChannelTransition>> {
    const client = this.keyspace.client(RoutingTag.node(node));
    const channels = (await client.smembers(this.nodeKey(node))).sort();
    const results = await Promise.all(channels.map(async (channel) => ({ channel, result: await this.remove(channel, node) })));
    await client.del(this.nodeKey(node));
    return results.flatMap(({ channel, result }) => (result?.vacated ? [{ channel, ...result.vacated }] : []));
  }

  async nodesOf(channel: string): Promise<string[]> {
    return (await this.keyspace.client(RoutingTag.channel(channel)).hkeys(this.channelKeys(channel)[0])).sort();
  }

  async channelsOf(node: string): Promise<string[]> {
    return (await this.keyspace.client(RoutingTag.node(node)).smembers(this.nodeKey(node))).sort();
  }

  /** Connections belong to the engine. */
  async close(): Promise<void> {}
}
