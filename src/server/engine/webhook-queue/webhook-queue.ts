/**
 * Webhook queue: the durable outbox of webhook events. It holds partitions — one per endpoint and partition number —
 * each an append-only sequence of entries consumed by one node at a time, the partition's lease holder, and a
 * dead-letter list per endpoint.
 *
 * Guarantees:
 * - An entry stays until it is acknowledged: entries handed to a consumer that died (or let its lease go) are handed
 *   again by `claimPending`, so nothing read is lost with its reader.
 * - Entries of one partition are handed out in append order (`claimPending` first, then `readNew`).
 * - A partition never holds more than `maxLength` entries: `append` refuses the entry rather than drop an older one.
 * - At most one owner holds a partition's lease at a time, and entries are handed out only to the holder: an owner
 *   that lost the lease is refused (null) in the same atomic step, so everything a former owner was handed is
 *   pending before its successor's first `claimPending`.
 *
 * The memory implementation keeps everything in the process: it is lost when the process exits. Redis keeps each
 * partition in a Stream with a consumer group (XREADGROUP, XAUTOCLAIM, XACK).
 */
export interface WebhookQueue {
  /** Appends `entry` to the partition and returns its id; null (nothing added) when the partition is full. */
  append(partition: string, entry: string, maxLength: number): Promise<string | null>;
  /** Entries in the partition: appended and not yet acknowledged (unread or pending). */
  length(partition: string): Promise<number>;
  /** Takes the partition's lease for `owner`, or renews it; false while another owner holds it. */
  lease(partition: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, when `owner` holds it. */
  release(partition: string, owner: string): Promise<void>;
  /**
   * Entries handed out earlier and never acknowledged (by any consumer, `owner` included), now handed to `owner`,
   * oldest first, from `cursor` on (`'0-0'` for the start). `next` is the cursor for the next call, null at the end.
   * Null (nothing handed out) when `owner` does not hold the partition's lease.
   */
  claimPending(partition: string, owner: string, cursor: string, count: number): Promise<{ entries: QueueEntry[]; next: string | null } | null>;
  /**
   * Up to `count` entries no consumer has been handed, oldest first, now pending for `owner` until acknowledged. Null
   * (nothing handed out) when `owner` does not hold the partition's lease.
   */
  readNew(partition: string, owner: string, count: number): Promise<QueueEntry[] | null>;
  /** Acknowledges entries: they leave the partition. */
  ack(partition: string, ids: readonly string[]): Promise<void>;

  /** Adds entries to a dead-letter list; returns how many fit (the list holds at most `maxLength`). */
  addDead(list: string, entries: readonly string[], maxLength: number): Promise<number>;
  /** A page of a dead-letter list, oldest first, with ids after `after` (null: from the start). */
  listDead(list: string, after: string | null, limit: number): Promise<{ entries: QueueEntry[]; next: string | null }>;
  /** Removes dead letters by id; returns those that were there. */
  takeDead(list: string, ids: readonly string[]): Promise<QueueEntry[]>;
  /** Dead letters in the list. */
  deadCount(list: string): Promise<number>;
  close(): Promise<void>;
}

export interface QueueEntry {
  id: string;
  entry: string;
}

/** Orders entry ids (`<ms>-<seq>`, as Redis Streams write them). */
export function compareEntryIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number];
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number];
  return aMs - bMs || (aSeq ?? 0) - (bSeq ?? 0);
}
