import { randomBytes } from 'node:crypto';
import type { StreamPosition } from '../../../protocol/frames.js';
import { systemClock, type Clock } from '../../time/clock.js';
import { fitInBytes, type HistoryOptions, type HistoryPage, type HistoryQuery, type HistoryStore, type StoredPublication } from './history.js';

interface Stream {
  epoch: string;
  offset: number;
  /** Kept publications, oldest first; bounded by the namespace's history size. */
  publications: Array<StoredPublication & { offset: number }>;
  expiresAt: number;
}

export class MemoryHistoryState {
  readonly streams = new Map<string, Stream>();
}

/** Streams that keep no publications and no meaningful offset expire after this long idle. */
const COUNTER_TTL_MS = 24 * 3600_000;

/** Streams expire on `clock`. */
export class MemoryHistoryStore implements HistoryStore {
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: Clock;

  constructor(private readonly state: MemoryHistoryState = new MemoryHistoryState(), { clock = systemClock }: { clock?: Clock } = {}) {
    this.now = clock;
    // Expired streams are dropped lazily on access and by this sweep, so idle channels do not hold memory.
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  private stream(channel: string, create: boolean): Stream | undefined {
    let stream = this.state.streams.get(channel);
    if (stream && stream.expiresAt <= this.now()) {
      this.state.streams.delete(channel);
      stream = undefined;
    }
    if (!stream && create) {
      stream = { epoch: randomBytes(4).toString('hex'), offset: 0, publications: [], expiresAt: 0 };
      this.state.streams.set(channel, stream);
    }
    return stream;
  }

  async append(channel: string, publication: StoredPublication, options: HistoryOptions): Promise<StreamPosition> {
    return this.appendNow(channel, publication, options);
  }

  /** `append`, synchronously: the memory publisher hands the publication to the bus in the same step. */
  appendNow(channel: string, publication: StoredPublication, options: HistoryOptions): StreamPosition {
    const stream = this.stream(channel, true)!;
    stream.offset += 1;
    if (options.size > 0) {
      stream.publications.push({ ...publication, offset: stream.offset });
      if (stream.publications.length > options.size) stream.publications.splice(0, stream.publications.length - options.size);
    }
    stream.expiresAt = this.now() + (options.size > 0 ? options.ttlMs : COUNTER_TTL_MS);
    return { offset: stream.offset, epoch: stream.epoch };
  }

  async position(channel: string): Promise<StreamPosition> {
    const stream = this.stream(channel, true)!;
    if (stream.expiresAt === 0) stream.expiresAt = this.now() + COUNTER_TTL_MS;
    return { offset: stream.offset, epoch: stream.epoch };
  }

  async read(channel: string, query: HistoryQuery): Promise<HistoryPage> {
    const stream = this.stream(channel, true)!;
    const position = { offset: stream.offset, epoch: stream.epoch };
    const kept = stream.publications;
    if (!query.since) return page(position, true, kept.slice(Math.max(0, kept.length - query.limit)), query.maxBytes);
    const { offset, epoch } = query.since;
    if (epoch !== stream.epoch || offset > stream.offset) return { ...position, recovered: false, publications: [] };
    const missed = kept.filter((publication) => publication.offset > offset);
    const complete = stream.offset - offset === missed.length && missed.length <= query.limit;
    return page(position, complete, missed.slice(0, query.limit), query.maxBytes);
  }

  private sweep(): void {
    const now = this.now();
    for (const [channel, stream] of this.state.streams) if (stream.expiresAt !== 0 && stream.expiresAt <= now) this.state.streams.delete(channel);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

/** A page of `candidates`, cut to `maxBytes`. */
function page(position: StreamPosition, recovered: boolean, candidates: Array<StoredPublication & { offset: number }>, maxBytes: number | undefined): HistoryPage {
  const fit = fitInBytes(candidates, maxBytes);
  if (fit === candidates.length) return { ...position, recovered, publications: candidates };
  return { ...position, recovered, publications: candidates.slice(0, fit), more: true };
}
