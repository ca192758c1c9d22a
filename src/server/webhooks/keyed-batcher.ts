import { systemClock, type Clock } from '../time/clock.js';
import type { WebhookEvent } from './events.js';

/** One event waiting for delivery to an endpoint. */
export interface BatchItem {
  /** Events of one key are delivered in order; see `KeyedEvent.key`. */
  key: string;
  /** Transition number, counted per `family` of the key. */
  seq?: number;
  /** Names the sequence `seq` belongs to (the key and the transition family). */
  family?: string;
  /**
   * How much `seq` grows between two transitions of the family that the endpoint receives (1: it takes every one; 2:
   * one of an alternating pair); null when that cannot be known, and transitions are not held back.
   */
  step: number | null;
  partition: number;
  entryId: string;
  event: WebhookEvent;
}

export interface KeyedBatcherOptions {
  batchSize: number;
  /** Batches in flight at once. */
  concurrency: number;
  /** How long a batch that is not full waits for more events. */
  lingerMs: number;
  /** How long a transition whose predecessor has not arrived waits for it. */
  reorderWindowMs: number;
  /** Events held at most (the reader stops reading beyond it). */
  maxBuffered: number;
}

interface KeyState {
  items: BatchItem[];
  /** A batch holding this key's events is in flight; the key's next events wait for it. */
  busy: boolean;
  /** Since when the head transition waits for an earlier one. */
  heldSince: number | null;
}

/** Keys whose last delivered transition number is remembered. */
const REMEMBERED_KEYS = 100_000;

/**
 * Forms an endpoint's batches so that no key's events are ever reordered: a batch takes each key's events in order,
 * and a key's next events wait until the batch holding its previous ones is done (delivered or dead-lettered), so
 * retries and concurrency (batches of other keys) cannot overtake them. A transition (`seq`) that arrived before the
 * one it follows — two nodes deciding a user's or channel's transitions within moments, or a partition taken over
 * from a node that died — waits up to `reorderWindowMs` for it, then goes anyway.
 */
export class KeyedBatcher {
  private readonly keys = new Map<string, KeyState>();
  /** Keys with events that may go now, in the order they became ready. */
  private readonly ready = new Set<string>();
  /** Events of ready keys. */
  private readyCount = 0;
  private bufferedCount = 0;
  private inFlight = 0;
  private readonly inFlightByPartition = new Map<number, number>();
  private readonly held = new Set<string>();
  private readonly lastSeq = new Map<string, number>();
  private lingerTimer: NodeJS.Timeout | null = null;
  private holdTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly options: KeyedBatcherOptions,
    /** Delivers one batch; resolves when it is done with it (acknowledged or dead-lettered). Never rejects. */
    private readonly send: (batch: BatchItem[]) => Promise<void>,
    /** Called when a batch is done, so the reader may read more. */
    private readonly onDone: () => void = () => {},
    private readonly now: Clock = systemClock,
  ) {}

  /** How many more events may be added before the buffer is full. */
  get room(): number {
    return this.options.maxBuffered - this.bufferedCount;
  }

  /** Events waiting (not in flight). */
  get buffered(): number {
    return this.bufferedCount;
  }

  get batchesInFlight(): number {
    return this.inFlight;
  }

  /** True while events of `partition` wait or are in flight. */
  holds(partition: number): boolean {
    if ((this.inFlightByPartition.get(partition) ?? 0) > 0) return true;
    for (const state of this.keys.values()) if (state.items.some((item) => item.partition === partition)) return true;
    return false;
  }

  add(item: BatchItem): void {
    let state = this.keys.get(item.key);
    if (!state) this.keys.set(item.key, (state = { items: [], busy: false, heldSince: null }));
    insertInOrder(state.items, item);
    this.bufferedCount++;
    if (!state.busy) {
      if (this.ready.has(item.key)) this.readyCount++;
      else {
        // New, or held: a held key's head may be the very transition it was waiting for.
        this.held.delete(item.key);
        this.ready.add(item.key);
        this.readyCount += state.items.length;
      }
    }
    this.schedule();
  }

  /** Forgets the waiting events of a partition this node no longer owns (its next owner delivers them). */
  drop(partition: number): void {
    for (const [key, state] of this.keys) {
      const kept = state.items.filter((item) => item.partition !== partition);
      const removed = state.items.length - kept.length;
      if (removed === 0) continue;
      state.items = kept;
      this.bufferedCount -= removed;
      if (this.ready.has(key)) this.readyCount -= removed;
      this.forgetIfEmpty(key, state);
    }
  }

  /** Stops forming batches; those in flight finish. */
  close(): void {
    this.closed = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.holdTimer) clearTimeout(this.holdTimer);
  }

  private schedule(): void {
    if (this.closed) return;
    while (this.inFlight < this.options.concurrency && this.readyCount >= this.options.batchSize) {
      if (!this.startBatch()) break;
    }
    if (this.inFlight >= this.options.concurrency || this.readyCount === 0) return;
    if (this.options.lingerMs === 0) {
      this.flushReady();
      return;
    }
    this.lingerTimer ??= setTimeout(() => {
      this.lingerTimer = null;
      this.flushReady();
    }, this.options.lingerMs);
  }

  /** Sends what is ready, full or not, as far as concurrency allows. */
  private flushReady(): void {
    while (!this.closed && this.inFlight < this.options.concurrency && this.readyCount > 0) {
      if (!this.startBatch()) break;
    }
  }

  /** Forms one batch from the ready keys, in the order they became ready; false when nothing could go. */
  private startBatch(): boolean {
    const batch: BatchItem[] = [];
    const keys: string[] = [];
    for (const key of this.ready) {
      if (batch.length >= this.options.batchSize) break;
      const state = this.keys.get(key)!;
      this.ready.delete(key);
      this.readyCount -= state.items.length;
      let took = 0;
      while (state.items.length > 0 && batch.length < this.options.batchSize && this.mayGo(state, state.items[0]!)) {
        const item = state.items.shift()!;
        if (item.seq !== undefined && item.family !== undefined) this.remember(item.family, item.seq);
        batch.push(item);
        took++;
      }
      this.bufferedCount -= took;
      if (took > 0) {
        state.busy = true;
        keys.push(key);
      } else this.hold(key);
    }
    if (batch.length === 0) return false;
    this.inFlight++;
    for (const item of batch) this.inFlightByPartition.set(item.partition, (this.inFlightByPartition.get(item.partition) ?? 0) + 1);
    void this.send(batch).catch(() => {}).finally(() => this.finish(batch, keys));
    return true;
  }

  private finish(batch: BatchItem[], keys: string[]): void {
    this.inFlight--;
    for (const item of batch) this.inFlightByPartition.set(item.partition, this.inFlightByPartition.get(item.partition)! - 1);
    for (const key of keys) {
      const state = this.keys.get(key);
      if (!state) continue;
      state.busy = false;
      if (state.items.length > 0) {
        this.ready.add(key);
        this.readyCount += state.items.length;
      } else this.forgetIfEmpty(key, state);
    }
    this.schedule();
    this.onDone();
  }

  /**
   * A transition goes when it follows the last one delivered, or is its family's first, or once it waited long
   * enough. One whose predecessor this node never saw (it just took the partition over, or forgot the family) waits
   * too: an earlier transition may still be on its way.
   */
  private mayGo(state: KeyState, item: BatchItem): boolean {
    if (item.seq === undefined || item.family === undefined || item.step === null) return true;
    const last = this.lastSeq.get(item.family);
    const follows = last === undefined ? item.seq <= 1 : item.seq <= last + item.step;
    if (follows || (state.heldSince !== null && this.now() - state.heldSince >= this.options.reorderWindowMs)) {
      state.heldSince = null;
      return true;
    }
    state.heldSince ??= this.now();
    return false;
  }

  private hold(key: string): void {
    this.held.add(key);
    if (this.holdTimer) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = null;
      for (const heldKey of [...this.held]) {
        const state = this.keys.get(heldKey);
        this.held.delete(heldKey);
        if (!state || state.busy || state.items.length === 0 || this.ready.has(heldKey)) continue;
        this.ready.add(heldKey);
        this.readyCount += state.items.length;
      }
      this.schedule();
    }, Math.max(1, this.options.reorderWindowMs));
  }

  private remember(family: string, seq: number): void {
    this.lastSeq.delete(family);
    this.lastSeq.set(family, seq);
    if (this.lastSeq.size > REMEMBERED_KEYS) this.lastSeq.delete(this.lastSeq.keys().next().value!);
  }

  private forgetIfEmpty(key: string, state: KeyState): void {
    if (state.items.length === 0 && !state.busy) {
      this.keys.delete(key);
      this.ready.delete(key);
      this.held.delete(key);
    }
  }
}

/** Appends, except that a transition goes before waiting transitions of its family with a higher number (it arrived late). */
function insertInOrder(items: BatchItem[], item: BatchItem): void {
  if (item.seq !== undefined && item.family !== undefined) {
    const index = items.findIndex((other) => other.family === item.family && other.seq! > item.seq!);
    if (index !== -1) {
      items.splice(index, 0, item);
      return;
    }
  }
  items.push(item);
}
