import type { StreamPosition } from '../../protocol/frames.js';
import type { HistoryPage } from '../engine/history/history.js';
import type { OrderingCounters } from '../observability/sequencer-metrics.js';
import { encodeMessageFrame } from '../codec/node-frames.js';

/** What a sequencer reads of the channel's stream (`HistoryStore` has both). */
export interface StreamReader {
  read(channel: string, query: { since?: StreamPosition; limit: number }): Promise<HistoryPage>;
  position(channel: string): Promise<StreamPosition>;
}

/** Timers, injected so tests drive the reorder window without waiting. */
export interface SequencerTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_TIMERS: SequencerTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Where the sequencer hands what it decided, in the channel's order. */
export interface SequencedOutput {
  /** The next publication of the channel; `frame` is the message frame's bytes. */
  publication(position: StreamPosition, frame: Buffer, exclude: string | null): void;
  /** Offsets `from`..`to` of `epoch` (with `to` null: every one from `from` on) will never be delivered. */
  lost(epoch: string, from: number, to: number | null): void;
}

export interface SequencerOptions {
  /** How long a gap may stay open before the missing publications are read from history. */
  reorderWindowMs: number;
  /** Publications and bytes held ahead of a gap; beyond either, the gap is resolved at once. */
  maxBufferedPublications: number;
  maxBufferedBytes: number;
  /** A channel quiet this long after activity has its stream position read once (`delivery.tailCheckMs`); 0: never. */
  tailCheckMs?: number;
}

/** Totals over every channel of a node (metrics read them at scrape time). */
export class SequencerStats implements OrderingCounters {
  /** Delivered the moment they arrived. */
  inOrder = 0;
  /** Delivered after waiting for the ones before them. */
  reordered = 0;
  /** Read from history to close a gap. */
  filled = 0;
  /** Dropped: at or below what was already delivered. */
  duplicates = 0;
  /** Dropped: of an epoch already declared lost from an offset on. */
  stale = 0;
  /** Offsets declared lost (open-ended `lost` counts the offset it starts from). */
  lostOffsets = 0;
  /** `lost` decisions (each reaches every local subscriber of the channel). */
  lostNotices = 0;
  /** Publications currently held ahead of a gap. */
  buffered = 0;
}

interface Entry {
  offset: number;
  epoch: string;
  frame: Buffer;
  exclude: string | null;
}

/** Offsets read from history in one go; a namespace keeps at most 10 000 publications. */
const MAX_FILL = 10_000;
/** Epochs remembered after they were declared lost, so their late publications are recognised. */
const RETIRED_EPOCHS = 8;

/**
 * Puts one channel's publications back in offset order on the receiving node, per epoch.
 *
 * Guarantee: `output` sees each offset of an epoch at most once and in increasing order, each either as a
 * publication or inside a `lost` range; nothing above the anchor is skipped without a `lost`. `last + 1` is delivered at
 * once (with the buffered successors it unblocks); lower offsets are duplicates and dropped; higher ones wait, bounded
 * in count and bytes, for at most `reorderWindowMs`, after which the missing ones are read from history — what history
 * no longer has is declared lost. Overflow resolves the gap at once. A publication of a new epoch (the store lost the
 * stream) declares the rest of the old epoch lost and continues from the new epoch's offset 1.
 *
 * Anchoring: the sequencer delivers nothing until it knows where it starts (`anchor`), the store's position read
 * right after the node's broker subscription was in place. Every subscriber's own position is read after that, so none
 * lies below the anchor; publications that arrive before it are held and sorted out once it is known.
 */
export class ChannelSequencer {
  private epoch: string | null = null;
  private last = 0;
  /** Where the sequencer started in `epoch`: it delivered nothing at or below this. */
  private base = 0;
  private state: 'anchoring' | 'first' | 'anchored' = 'anchoring';
  private early: Entry[] = [];
  private readonly ahead = new Map<number, Entry>();
  private aheadBytes = 0;
  private timer: unknown = null;
  /** The history read in flight; a read superseded (epoch change, skip-ahead) finds another token and does nothing. */
  private fillToken: object | null = null;
  private readonly retired: string[] = [];
  private closed = false;

  constructor(
    private readonly channel: string,
    private readonly output: SequencedOutput,
    private readonly reader: StreamReader,
    private readonly options: SequencerOptions,
    private readonly stats: SequencerStats,
    private readonly timers: SequencerTimers = SYSTEM_TIMERS,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Last delivered position and where the sequencer started in that epoch; null until anchored. */
  get position(): (StreamPosition & { base: number }) | null {
    return this.state === 'anchored' ? { offset: this.last, epoch: this.epoch!, base: this.base } : null;
  }

  /** True when `epoch` was declared lost from some offset on (the stream moved on to another epoch). */
  hasRetired(epoch: string): boolean {
    return this.retired.includes(epoch);
  }

  /**
   * Sets the starting point: publications above `position` are delivered, the rest dropped. Null (the store could not
   * be read) anchors on the lowest publication seen, or on the first subscriber position given. Ignored once anchored.
   */
  anchor(position: StreamPosition | null): void {
    if (this.closed || this.state === 'anchored') return;
    const early = this.early;
    this.early = [];
    if (!position && early.length > 0) {
      const epoch = early[0]!.epoch;
      const lowest = Math.min(...early.filter((entry) => entry.epoch === epoch).map((entry) => entry.offset));
      position = { offset: lowest - 1, epoch };
    }
    if (!position) {
      this.state = 'first';
      return;
    }
    this.state = 'anchored';
    this.epoch = position.epoch;
    this.last = this.base = position.offset;
    for (const entry of early) this.push(entry, entry.frame, entry.exclude);
  }

  /** A publication from the broker (or the local fallback path). */
  push(position: StreamPosition, frame: Buffer, exclude: string | null): void {
    if (this.closed) return;
    if (position.offset === this.last + 1 && position.epoch === this.epoch && this.state === 'anchored') {
      // The common case, without an allocation: the next offset, nothing waiting for it to be sorted.
      this.stats.inOrder++;
      this.last = position.offset;
      this.output.publication(position, frame, exclude);
      if (this.ahead.size > 0) this.drain();
      return;
    }
    const entry: Entry = { offset: position.offset, epoch: position.epoch, frame, exclude };
    if (this.state === 'first') this.anchor({ offset: position.offset - 1, epoch: position.epoch });
    if (this.state === 'anchoring') {
      this.early.push(entry);
      // The anchor read is one round trip; a flood before it ends anchors on what arrived.
      if (this.early.length > this.options.maxBufferedPublications) this.anchor(null);
      return;
    }
    if (entry.epoch !== this.epoch) {
      if (this.retired.includes(entry.epoch)) {
        this.stats.stale++;
        return;
      }
      this.switchEpoch(entry.epoch);
    }
    if (entry.offset <= this.last || this.ahead.has(entry.offset)) {
      this.stats.duplicates++;
      return;
    }
    if (entry.offset === this.last + 1) {
      this.stats.inOrder++;
      this.emit(entry);
      this.drain();
      return;
    }
    this.ahead.set(entry.offset, entry);
    this.aheadBytes += frame.length;
    this.stats.buffered++;
    if (this.overBound(1)) this.overflow();
    else if (this.timer === null && this.fillToken === null) this.armTimer();
  }

  /**
   * After a broker reconnect or store restart: whatever the store has beyond what was delivered is read from history
   * now (or declared lost), since the broker will not bring it any more.
   */
  async resync(): Promise<void> {
    if (this.closed || this.state !== 'anchored') return;
    let position: StreamPosition;
    try {
      position = await this.reader.position(this.channel);
    } catch (error) {
      this.onError(error);
      return;
    }
    if (this.closed) return;
    if (position.epoch !== this.epoch) this.switchEpoch(position.epoch);
    if (position.offset > this.last) await this.fill(position.offset);
  }

  close(): void {
    this.closed = true;
    this.clearTimer();
    this.fillToken = null;
    this.stats.buffered -= this.ahead.size;
    this.ahead.clear();
    this.early = [];
  }

  private emit(entry: Entry): void {
    this.last = entry.offset;
    this.output.publication({ offset: entry.offset, epoch: entry.epoch }, entry.frame, entry.exclude);
  }

  private declareLost(from: number, to: number | null): void {
    this.stats.lostNotices++;
    this.stats.lostOffsets += to === null ? 1 : to - from + 1;
    this.output.lost(this.epoch!, from, to);
  }

  /** Delivers the buffered successors of `last`; a gap left open gets a window of its own. */
  private drain(): void {
    let progressed = false;
    for (let next = this.ahead.get(this.last + 1); next; next = this.ahead.get(this.last + 1)) {
      this.take(next.offset);
      this.stats.reordered++;
      this.emit(next);
      progressed = true;
    }
    if (this.ahead.size === 0) this.clearTimer();
    else if (progressed && this.fillToken === null) {
      this.clearTimer();
      this.armTimer();
    }
  }

  private take(offset: number): Entry | undefined {
    const entry = this.ahead.get(offset);
    if (!entry) return undefined;
    this.ahead.delete(offset);
    this.aheadBytes -= entry.frame.length;
    this.stats.buffered--;
    return entry;
  }

  private armTimer(): void {
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.resolveGap();
    }, this.options.reorderWindowMs);
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  /** The gap below the lowest buffered publication did not close in time: read it from history. */
  private resolveGap(): void {
    if (this.closed || this.fillToken !== null || this.ahead.size === 0) return;
    void this.fill(Math.min(...this.ahead.keys()) - 1);
  }

  private overBound(factor: number): boolean {
    return this.ahead.size > this.options.maxBufferedPublications * factor || this.aheadBytes > this.options.maxBufferedBytes * factor;
  }

  private overflow(): void {
    if (this.fillToken === null) {
      this.resolveGap();
      return;
    }
    // A read is on its way; it may take the buffer to twice its bound. Beyond that stop waiting: what it would have
    // brought is lost.
    if (!this.overBound(2)) return;
    this.fillToken = null;
    this.settle(Math.max(...this.ahead.keys()), new Map());
  }

  /** Reads `last+1`..`target` from history and delivers them in order, declaring lost what history lacks. */
  private async fill(target: number): Promise<void> {
    this.clearTimer();
    const token = {};
    this.fillToken = token;
    const since = { offset: this.last, epoch: this.epoch! };
    let page: HistoryPage | null = null;
    try {
      page = await this.reader.read(this.channel, { since, limit: Math.min(target - since.offset, MAX_FILL) });
    } catch (error) {
      // The store is unreachable: what it holds cannot be had now, and waiting has no bound.
      this.onError(error);
    }
    if (this.closed || this.fillToken !== token) return;
    this.fillToken = null;
    if (page && page.epoch !== this.epoch) {
      // The stream was reset while the gap was open: the old epoch ends here, the new one is read from its start.
      this.switchEpoch(page.epoch);
      if (page.offset > 0) await this.fill(page.offset);
      return;
    }
    const kept = new Map<number, Entry>();
    for (const publication of page?.publications ?? []) {
      if (publication.offset <= this.last || publication.offset > target) continue;
      const frame = Buffer.from(encodeMessageFrame(this.channel, publication.offset, this.epoch!, publication.dataJson, publication.fromJson), 'utf8');
      kept.set(publication.offset, { offset: publication.offset, epoch: this.epoch!, frame, exclude: senderSession(publication.fromJson) });
    }
    this.settle(Math.max(target, this.last), kept);
  }

  /**
   * Advances to `target`: each offset up to it is delivered from the buffer or from `kept` (history), or falls in a
   * `lost` range; then the buffered successors follow.
   */
  private settle(target: number, kept: Map<number, Entry>): void {
    const offsets = [...new Set([...kept.keys(), ...[...this.ahead.keys()].filter((offset) => offset <= target)])].sort((a, b) => a - b);
    for (const offset of offsets) {
      if (offset <= this.last) continue;
      if (offset > this.last + 1) this.declareLost(this.last + 1, offset - 1);
      const buffered = this.take(offset);
      if (buffered) this.stats.reordered++;
      else this.stats.filled++;
      this.emit(buffered ?? kept.get(offset)!);
    }
    if (target > this.last) {
      this.declareLost(this.last + 1, target);
      this.last = target;
    }
    this.drain();
    if (this.ahead.size > 0 && this.timer === null && this.fillToken === null) this.armTimer();
  }

  /** The stream continues under `epoch`: the old epoch's buffered publications go out, the rest of it is lost. */
  private switchEpoch(epoch: string): void {
    this.clearTimer();
    this.fillToken = null;
    for (const offset of [...this.ahead.keys()].sort((a, b) => a - b)) {
      const entry = this.take(offset)!;
      if (offset > this.last + 1) this.declareLost(this.last + 1, offset - 1);
      this.stats.reordered++;
      this.emit(entry);
    }
    this.declareLost(this.last + 1, null);
    this.retired.push(this.epoch!);
    if (this.retired.length > RETIRED_EPOCHS) this.retired.shift();
    // Every epoch starts at offset 1.
    this.epoch = epoch;
    this.last = this.base = 0;
  }
}

/** The publishing session, which never receives its own publication; null for a backend's. */
function senderSession(fromJson: string): string | null {
  try {
    const from = JSON.parse(fromJson) as { session?: unknown } | null;
    return typeof from?.session === 'string' ? from.session : null;
  } catch {
    return null;
  }
}
