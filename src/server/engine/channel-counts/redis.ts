import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { ChannelCounts, ChannelListQuery, ChannelPage } from './channel-counts.js';
import { mergePages } from './channel-counts.js';

/**
 * Channel counts in Redis, per node on the node's shard (slot): `{n:<node>}:channel-names`, a sorted set with every
 * score 0 so `ZRANGE BYLEX` pages it by name, and `{n:<node>}:channel-subscribers`, a hash channel -> count. Both
 * expire with the lease and are written in one MULTI per report, so a reader never sees a name without its count
 * for long. A listing asks each live node for one page and merges them.
 */
export class RedisChannelCounts implements ChannelCounts {
  constructor(private readonly keyspace: RedisKeyspace) {}

  private keys(node: string): [string, string] {
    const tag = RoutingTag.node(node);
    return [this.keyspace.key(tag, 'channel-names'), this.keyspace.key(tag, 'channel-subscribers')];
  }

  async report(node: string, changes: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    const [names, counts] = this.keys(node);
    const ttl = Math.max(1, Math.round(ttlMs));
    const set: string[] = [];
    const gone: string[] = [];
    for (const [channel, count] of changes) {
      if (count > 0) set.push(channel, String(count));
      else gone.push(channel);
    }
    const multi = this.keyspace.client(RoutingTag.node(node)).multi();
    if (set.length > 0) {
      multi.zadd(names, ...set.flatMap((value, index) => (index % 2 === 0 ? ['0', value] : [])));
      multi.hset(counts, ...set);
    }
    if (gone.length > 0) {
      multi.zrem(names, ...gone);
      multi.hdel(counts, ...gone);
    }
    multi.pexpire(names, ttl).pexpire(counts, ttl);
    await multi.exec();
  }

  async drop(node: string): Promise<void> {
    await this.keyspace.client(RoutingTag.node(node)).del(...this.keys(node));
  }

  async list(nodes: readonly string[], { prefix, cursor, limit }: ChannelListQuery): Promise<ChannelPage> {
    const start = cursor !== undefined && cursor >= prefix ? Buffer.from(`(${cursor}`) : Buffer.from(`[${prefix}`);
    // Every name that starts with `prefix` sorts below `prefix` followed by the byte 0xff (no UTF-8 byte is 0xff).
    const end = prefix === '' ? Buffer.from('+') : Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
    const pages = await Promise.all(
      nodes.map(async (node) => {
        const [names, counts] = this.keys(node);
        const client = this.keyspace.client(RoutingTag.node(node));
        const page = await client.zrangebylex(names, start, end, 'LIMIT', 0, limit);
        if (page.length === 0) return [];
        const values = await client.hmget(counts, ...page);
        return page.map((channel, index) => [channel, Number(values[index] ?? 0)] as const);
      }),
    );
    return mergePages(pages, limit);
  }

  async countsOf(channel: string, nodes: readonly string[]): Promise<Map<string, number>> {
    const values = await Promise.all(nodes.map((node) => this.keyspace.client(RoutingTag.node(node)).hget(this.keys(node)[1], channel)));
    const counts = new Map<string, number>();
    nodes.forEach((node, index) => {
      const value = values[index];
      if (value !== null && value !== undefined) counts.set(node, Number(value));
    });
    return counts;
  }

  /** Connections belong to the engine. */
  async close(): Promise<void> {}
}
