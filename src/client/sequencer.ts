import type { HistoryFrame, LostFrame, MessageFrame, StreamPosition } from '../protocol/index.js';
import { LocalErrorCode, type WsgateClientError } from './errors.js';

/**
 * Publications of a channel the subscription will never deliver: offsets `from` through `to` (inclusive) of `epoch`;
 * `to` null is every offset from `from` on in that epoch (the stream went on under a new epoch).
 */
export interface LostRange {
  epoch: string;
  from: number;
  to: number | null;
}

/** What the sequencer needs from its subscription. */
export interface SequencerHost {
  /** The next publication, in order. */
  deliver(frame: MessageFrame): void;
  /** A range that will never be delivered, in order with the publications. */
  lose(range: LostRange): void;
  /** One page of history after `since` (at most `limit`); rejects with the gateway's error. */
  fetch(since: StreamPosition, limit: number): Promise<HistoryFrame>;
  /** The offset given to {@link Sequencer.expect} was reached (or passed over by a loss). */
  caughtUp(): void;
}

/** A buffered publication (`from` = `to` = its offset, with its frame), or a range reported lost. */
interface Item {
  from: number;
  /** Infinity: the rest of the epoch. */
  to: number;
  frame?: MessageFrame;
}

/**
 * Publications held back behind a gap at most; beyond it the gap is reported lost rather than wait for a history read
 * that is slow (or refused again and again) while memory grows.
 */
export const MAX_HELD = 10_000;

/** Epochs left behind that are remembered, so late frames of theirs are ignored. */
const RETIRED_EPOCHS = 16;

/**
 * Puts one channel's publications in offset order for a subscription and never skips one silently.
 *
 * Guarantee: from the position it starts at, every offset of the epoch — and of every later epoch from offset 1 —
 * is either delivered once (`deliver`) or covered by exactly one `lose` range, in increasing offset order; ranges
 * never overlap each other or a delivered offset. Exceptions: offsets this client published itself ({@link
 * Sequencer.published}), which are neither. A jump in offsets holds the later publications back and fills the gap
 * from history, page by page; what history no longer has (or cannot be read) is reported lost. A new epoch first
 * reports the rest of the old one lost (`to: null`), delivering what of it was already buffered. Exact duplicates
 * and offsets at or below the position are ignored.
 */
export class Sequencer {
  #position: StreamPosition | undefined;
  /** The current epoch ended with a `to: null` loss; its later frames are ignored. */
  #closed = false;
  /** Offsets this client published above the position (current epoch): they never come back live. */
  readonly #own = new Set<number>();
  /** Held back, sorted by `from`. */
  #items: Item[] = [];
  /** Offset a replay must reach before it is complete (recovery in pages). */
  #target: number | undefined;
  #filling = false;
  /** Bumped to abandon a history read in flight. */
  #generation = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  readonly #retired: string[] = [];

  constructor(private readonly host: SequencerHost) {}

  get position(): StreamPosition | undefined {
    return this.#position && { ...this.#position };
  }

  /** Starts (again) at `position`: nothing before it is the subscription's business. */
  reset(position: StreamPosition): void {
    this.stop();
    if (this.#position && this.#position.epoch !== position.epoch) this.#retire(this.#position.epoch);
    this.#position = { ...position };
    this.#closed = false;
    this.#own.clear();
  }

  /**
   * Moves to `position`, reporting every offset between the current position and it as lost (a recovery the gateway
   * could not make).
   */
  skipTo(position: StreamPosition): void {
    this.stop();
    const last = this.#position;
    if (!last) return this.reset(position);
    if (last.epoch === position.epoch) {
      if (position.offset > last.offset && !this.#closed) this.host.lose({ epoch: last.epoch, from: last.offset + 1, to: position.offset });
      if (position.offset > last.offset) this.#position = { ...position };
      this.#closed = false;
      return;
    }
    if (!this.#closed) this.host.lose({ epoch: last.epoch, from: last.offset + 1, to: null });
    if (position.offset >= 1) this.host.lose({ epoch: position.epoch, from: 1, to: position.offset });
    this.reset(position);
  }

  /** Abandons what is held back and any history read (the connection dropped; a recovery will resume from here). */
  stop(): void {
    this.#generation++;
    this.#filling = false;
    clearTimeout(this.#retry);
    this.#items = [];
    this.#target = undefined;
  }

  /** A replay is complete once `offset` of the current epoch is reached; until then a gap up to it is filled. */
  expect(offset: number): void {
    this.#target = offset;
    this.#drain();
  }

  /** This client published `position`; it is not delivered back. */
  published(position: StreamPosition): void {
    const last = this.#position;
    if (last && position.epoch === last.epoch && position.offset > last.offset) this.#own.add(position.offset);
  }

  /** A live or replayed publication. */
  accept(frame: MessageFrame): void {
    if (!this.#enter(frame.epoch)) return;
    this.#insert({ from: frame.offset, to: frame.offset, frame });
    if (this.#filling && this.#items.length > MAX_HELD) this.#giveUpFill();
    this.#drain();
  }

  /** Stops waiting for the history read in flight: the gap it was to fill is lost. */
  #giveUpFill(): void {
    this.#generation++;
    this.#filling = false;
    clearTimeout(this.#retry);
    const expected = this.#expected();
    const end = this.#items[0]!.from - 1;
    if (end >= expected) this.#lose(expected, end);
  }

  /** The gateway's `lost` frame. */
  lost(frame: LostFrame): void {
    if (!this.#enter(frame.epoch)) return;
    this.#insert({ from: frame.from, to: frame.to ?? Infinity });
    this.#drain();
  }

  /** True when a frame of `epoch` is to be sequenced; moves to a new epoch when it is one. */
  #enter(epoch: string): boolean {
    const position = this.#position;
    if (!position || this.#retired.includes(epoch)) return false;
    if (epoch === position.epoch) return !this.#closed;
    this.#switchEpoch(epoch);
    return true;
  }

  /** The stream went on under `epoch`: the old epoch's buffered publications go out, and the rest of it is lost. */
  #switchEpoch(epoch: string): void {
    const items = this.#items;
    const hadTarget = this.#target !== undefined;
    this.stop();
    for (const item of items) {
      const expected = this.#expected();
      if (item.to < expected) continue;
      if (item.from > expected) this.#lose(expected, item.from - 1);
      this.#take(item);
      if (this.#closed) break;
    }
    const old = this.#position!;
    if (!this.#closed) this.host.lose({ epoch: old.epoch, from: this.#expected(), to: null });
    this.#retire(old.epoch);
    this.#position = { offset: 0, epoch };
    this.#closed = false;
    this.#own.clear();
    if (hadTarget) this.host.caughtUp();
  }

  #retire(epoch: string): void {
    if (this.#retired.includes(epoch)) return;
    this.#retired.push(epoch);
    if (this.#retired.length > RETIRED_EPOCHS) this.#retired.shift();
  }

  /** The next offset to deliver: above the position, past this client's own publications. */
  #expected(): number {
    let next = this.#position!.offset + 1;
    while (this.#own.has(next)) next++;
    return next;
  }

  #insert(item: Item): void {
    const items = this.#items;
    let at = items.length;
    while (at > 0 && items[at - 1]!.from > item.from) at--;
    if (item.frame && at > 0 && items[at - 1]!.from === item.from && items[at - 1]!.frame) return; // exact duplicate
    items.splice(at, 0, item);
  }

  /** Delivers or reports `item` (which starts at or below the next expected offset) and advances past it. */
  #take(item: Item): void {
    const expected = this.#expected();
    if (item.frame) {
      if (item.from !== expected) return;
      this.#advance(item.from);
      this.host.deliver(item.frame);
      return;
    }
    this.#lose(expected, item.to);
  }

  /** Reports `from`..`to` lost and advances past it; Infinity closes the epoch. */
  #lose(from: number, to: number): void {
    const epoch = this.#position!.epoch;
    if (to === Infinity) {
      this.host.lose({ epoch, from, to: null });
      this.#closed = true;
      this.#items = [];
      return;
    }
    this.host.lose({ epoch, from, to });
    this.#advance(to);
  }

  #advance(offset: number): void {
    const position = this.#position!;
    if (offset <= position.offset) return;
    position.offset = offset;
    for (const own of this.#own) if (own <= offset) this.#own.delete(own);
  }

  /** Delivers what is in order; a gap before the next held item (or the replay target) is filled from history. */
  #drain(): void {
    while (!this.#filling && this.#position) {
      if (this.#target !== undefined && (this.#closed || this.#position.offset >= this.#target)) {
        this.#target = undefined;
        this.host.caughtUp();
        continue;
      }
      if (this.#closed) return;
      const expected = this.#expected();
      const head = this.#items[0];
      if (head && head.to < expected) {
        this.#items.shift();
        continue;
      }
      if (head && head.from <= expected) {
        this.#items.shift();
        this.#take(head);
        continue;
      }
      const gapEnd = head ? head.from - 1 : this.#target;
      if (gapEnd === undefined || gapEnd < expected) return;
      void this.#fill(expected, gapEnd);
      return;
    }
  }

  /** Reads `from`..`to` from history (one page; the drain asks for the next), reporting lost what it cannot have. */
  async #fill(from: number, to: number): Promise<void> {
    this.#filling = true;
    const generation = this.#generation;
    const epoch = this.#position!.epoch;
    let reply: HistoryFrame;
    try {
      reply = await this.host.fetch({ offset: from - 1, epoch }, to - from + 1);
    } catch (error) {
      if (generation !== this.#generation) return;
      const failure = error as WsgateClientError;
      if (failure.code === LocalErrorCode.DISCONNECTED) return; // the resubscribe recovers from the position
      if (failure.code === 'RATE_LIMITED') {
        this.#retry = setTimeout(() => {
          if (generation !== this.#generation) return;
          this.#filling = false;
          this.#drain();
        }, Math.max(10, (failure.retryAfter ?? 0.1) * 1000));
        return;
      }
      this.#filling = false;
      this.#lose(from, to);
      this.#drain();
      return;
    }
    if (generation !== this.#generation) return;
    this.#filling = false;
    const publications = reply.epoch === epoch ? reply.publications.filter((p) => p.offset >= from && p.epoch === epoch) : [];
    if (!reply.recovered || publications.length === 0) {
      // What history no longer holds (or another epoch now): lost up to the first publication it still has.
      const end = Math.min((publications[0]?.offset ?? to + 1) - 1, to);
      if (end >= from) this.#insert({ from, to: end });
    }
    for (const publication of publications) if (!this.#own.has(publication.offset)) this.#insert({ from: publication.offset, to: publication.offset, frame: publication });
    this.#drain();
  }
}
