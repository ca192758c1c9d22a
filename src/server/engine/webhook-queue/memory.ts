import { systemClock, type Clock } from '../../time/clock.js';
import { compareEntryIds, type QueueEntry, type WebhookQueue } from './webhook-queue.js';

interface Partition {
  /** Appended, never handed out; insertion order is id order. */
  unread: Map<string, string>;
  /** Handed out, not acknowledged: id -> entry and current consumer. */
  pending: Map<string, { entry: string; owner: string }>;
  lease: { owner: string; expiresAt: number } | null;
}

/**
 * The webhook queue in this process's memory (one instance may be shared by several in-process nodes). Everything in
 * it is lost when the process exits. Leases run out, and entry ids are stamped, on `clock`.
 */
export class MemoryWebhookQueue implements WebhookQueue {
  private readonly partitions = new Map<string, Partition>();
  private readonly dead = new Map<string, Map<string, string>>();
  private lastMs = 0;
  private seq = 0;
  private readonly now: Clock;

  constructor({ clock = systemClock }: { clock?: Clock } = {}) {
    this.now = clock;
  }

  private partition(name: string): Partition {
    let partition = this.partitions.get(name);
    if (!partition) this.partitions.set(name, (partition = { unread: new Map(), pending: new Map(), lease: null }));
    return partition;
  }

  /** Ids as Redis makes them: milliseconds, then a sequence within the millisecond. */
  private nextId(): string {
    const now = this.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else this.seq++;
    return `${this.lastMs}-${this.seq}`;
  }

  async append(name: string, entry: string, maxLength: number): Promise<string | null> {
    const partition = this.partition(name);
    if (partition.unread.size + partition.pending.size >= maxLength) return null;
    const id = this.nextId();
    partition.unread.set(id, entry);
    return id;
  }

  async length(name: string): Promise<number> {
    const partition = this.partitions.get(name);
    return partition ? partition.unread.size + partition.pending.size : 0;
  }

  async lease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const partition = this.partition(name);
    const now = this.now();
    if (partition.lease && partition.lease.owner !== owner && partition.lease.expiresAt > now) return false;
    partition.lease = { owner, expiresAt: now + ttlMs };
    return true;
  }

  async release(name: string, owner: string): Promise<void> {
    const partition = this.partitions.get(name);
    if (partition?.lease?.owner === owner) partition.lease = null;
  }

  private holds(partition: Partition, owner: string): boolean {
    return partition.lease !== null && partition.lease.owner === owner && partition.lease.expiresAt > this.now();
  }

  /** The cursor is the last id handed out. */
  async claimPending(name: string, owner: string, cursor: string, count: number): Promise<{ entries: QueueEntry[]; next: string | null } | null> {
    const partition = this.partition(name);
    if (!this.holds(partition, owner)) return null;
    const entries: QueueEntry[] = [];
    for (const [id, pending] of partition.pending) {
      if (compareEntryIds(id, cursor) <= 0) continue;
      if (entries.length === count) return { entries, next: entries.at(-1)!.id };
      pending.owner = owner;
      entries.push({ id, entry: pending.entry });
    }
    return { entries, next: null };
  }

  async readNew(name: string, owner: string, count: number): Promise<QueueEntry[] | null> {
    const partition = this.partition(name);
    if (!this.holds(partition, owner)) return null;
    const entries: QueueEntry[] = [];
    for (const [id, entry] of partition.unread) {
      if (entries.length === count) break;
      partition.unread.delete(id);
      partition.pending.set(id, { entry, owner });
      entries.push({ id, entry });
    }
    return entries;
  }

  async ack(name: string, ids: readonly string[]): Promise<void> {
    const partition = this.partitions.get(name);
    if (!partition) return;
    for (const id of ids) {
      partition.pending.delete(id);
      partition.unread.delete(id);
    }
  }

  private deadList(list: string): Map<string, string> {
    let entries = this.dead.get(list);
    if (!entries) this.dead.set(list, (entries = new Map()));
    return entries;
  }

  async addDead(list: string, entries: readonly string[], maxLength: number): Promise<number> {
    const dead = this.deadList(list);
    const room = Math.max(0, Math.min(entries.length, maxLength - dead.size));
    for (const entry of entries.slice(0, room)) dead.set(this.nextId(), entry);
    return room;
  }

  async listDead(list: string, after: string | null, limit: number): Promise<{ entries: QueueEntry[]; next: string | null }> {
    const entries: QueueEntry[] = [];
    for (const [id, entry] of this.dead.get(list) ?? []) {
      if (after !== null && compareEntryIds(id, after) <= 0) continue;
      if (entries.length === limit) return { entries, next: entries.at(-1)!.id };
      entries.push({ id, entry });
    }
    return { entries, next: null };
  }

  async takeDead(list: string, ids: readonly string[]): Promise<QueueEntry[]> {
    const dead = this.dead.get(list);
    if (!dead) return [];
    return ids.flatMap((id) => {
      const entry = dead.get(id);
      if (entry === undefined) return [];
      dead.delete(id);
      return [{ id, entry }];
    });
  }

  async deadCount(list: string): Promise<number> {
    return this.dead.get(list)?.size ?? 0;
  }

  async close(): Promise<void> {}
}
