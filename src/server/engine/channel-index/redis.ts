import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import { FollowUpWrites } from '../keyspace/follow-up-writes.js';
import { addMember, callToken, takeMember } from '../keyspace/transitions.js';
import type { ChannelIndex, ChannelTransition } from './channel-index.js';

/**
 * Channel index in Redis: per channel a hash `{c:<channel>}:nodes` (node -> since, epoch ms) and its transition
 * counter `{c:<channel>}:occupancy` (see keyspace/transitions.ts), changed by Lua scripts on the channel's shard (slot), so occupied/vacated are decided
 * atomically; per node a set `{n:<node>}:channels`, written before a node is added and after it is removed, so a
 * crash in between leaves an entry `removeNodeEverywhere` still finds. A removal's answer (vacated) never depends on
 * the node set's write after it: that write is retried on its own when it fails (a stale entry is skipped).
 */
export class RedisChannelIndex implements ChannelIndex {
  private readonly followUps = new FollowUpWrites();

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
    await this.followUps.run(() => this.keyspace.client(RoutingTag.node(node)).srem(this.nodeKey(node), channel));
    return result;
  }

  private async remove(channel: string, node: string, token?: string): Promise<{ vacated: ChannelTransition | null } | null> {
    const [hash, counter] = this.channelKeys(channel);
    const taken = await takeMember(this.keyspace.client(RoutingTag.channel(channel)), hash, counter, node, token);
    return taken === undefined ? null : { vacated: taken };
  }

  async removeNodeEverywhere(node: string): Promise<Array<{ channel: string } & ChannelTransition>> {
    const client = this.keyspace.client(RoutingTag.node(node));
    const channels = (await client.smembers(this.nodeKey(node))).sort();
    const vacated: Array<{ channel: string } & ChannelTransition> = [];
    // One token for this call, on every try: a channel tried again after an unknown outcome answers the transition
    // the first try made (and a concurrent caller, with its own token, is never told of it). Channels that keep
    // failing stay in the node's set.
    const token = callToken();
    let left = channels;
    for (let attempt = 0; left.length > 0 && attempt < REMOVE_TRIES; attempt++) {
      if (attempt > 0) await delay(100 * 2 ** attempt);
      const results = await Promise.allSettled(left.map((channel) => this.remove(channel, node, token)));
      left.forEach((channel, index) => {
        const result = results[index]!;
        if (result.status === 'fulfilled' && result.value?.vacated) vacated.push({ channel, ...result.value.vacated });
      });
      left = left.filter((_, index) => results[index]!.status === 'rejected');
    }
    const unreached = new Set(left);
    const done = channels.filter((channel) => !unreached.has(channel));
    if (left.length === 0) await this.followUps.run(() => client.del(this.nodeKey(node)));
    else if (done.length > 0) await this.followUps.run(() => client.srem(this.nodeKey(node), ...done));
    return vacated.sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
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

/** Tries of a channel in `removeNodeEverywhere` (with backoff) before it is left in the node's set. */
const REMOVE_TRIES = 5;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
