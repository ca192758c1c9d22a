/**
 * Channel counts: each node's local subscriber count per channel, published by the node in batches (with its lease
 * renewal), so an operator can list the cluster's channels by prefix and see how many subscribers each has.
 *
 * Guarantee: eventually consistent within one report interval. A node's counts expire with its lease (`ttlMs`), so a
 * dead node's channels leave listings within a lease even if nobody cleans up. Listing is by byte order of the
 * channel name and paged with an opaque-looking cursor (the last name returned); a page never repeats a name of an
 * earlier page, and names added or removed while paging may or may not appear. A node's index holds at most the
 * names it was given: the caller bounds it (`cluster.maxIndexedChannels`).
 */
export interface ChannelCounts {
  /**
   * Replaces the given entries of `node`'s counts (0 removes the channel) and extends the node's entries for `ttlMs`.
   * An empty `changes` only extends them.
   */
  report(node: string, changes: ReadonlyMap<string, number>, ttlMs: number): Promise<void>;
  /** Removes everything `node` reported (a drained node). */
  drop(node: string): Promise<void>;
  /** A page of the channels `nodes` hold whose names start with `prefix`, after `cursor`, summed over the nodes. */
  list(nodes: readonly string[], query: ChannelListQuery): Promise<ChannelPage>;
  /** `channel`'s subscriber count on each of `nodes` that reported it. */
  countsOf(channel: string, nodes: readonly string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
}

export interface ChannelListQuery {
  prefix: string;
  /** The last channel of the previous page; absent for the first page. */
  cursor?: string;
  limit: number;
}

export interface ChannelPage {
  channels: Array<{ channel: string; subscribers: number; nodes: number }>;
  /** Pass as `cursor` for the next page; null when this was the last. */
  cursor: string | null;
}

/** Merges the sorted pages of several nodes into one page of `limit` distinct names, summing their counts. */
export function mergePages(perNode: ReadonlyArray<ReadonlyArray<readonly [string, number]>>, limit: number): ChannelPage {
  const sums = new Map<string, { subscribers: number; nodes: number }>();
  for (const entries of perNode) {
    for (const [channel, count] of entries) {
      const sum = sums.get(channel);
      if (sum) {
        sum.subscribers += count;
        sum.nodes++;
      } else sums.set(channel, { subscribers: count, nodes: 1 });
    }
  }
  const names = [...sums.keys()].sort(byteOrder);
  // A node that returned a full page may hold more names before the next node's last one: cut at the smallest
  // "last name" of the full pages, so no name is skipped.
  let bound: string | undefined;
  for (const entries of perNode) {
    if (entries.length < limit) continue;
    const last = entries[entries.length - 1]![0];
    if (bound === undefined || byteOrder(last, bound) < 0) bound = last;
  }
  const kept = names.filter((name) => bound === undefined || byteOrder(name, bound) <= 0).slice(0, limit);
  const more = bound !== undefined || names.length > kept.length;
  return {
    channels: kept.map((channel) => ({ channel, ...sums.get(channel)! })),
    cursor: more && kept.length > 0 ? kept[kept.length - 1]! : null,
  };
}

/** Redis orders names by their bytes; so does every listing, whatever the engine. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
