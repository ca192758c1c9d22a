import type { StreamPosition } from '../../../protocol/frames.js';

/**
 * History: the per-channel stream position and, where the namespace keeps history, the last publications.
 *
 * Guarantee: `append` assigns offsets that increase by one per channel, atomically across the cluster. The epoch
 * changes when a channel's stream is lost (expired, store restarted), so a client holding an old epoch learns that
 * it cannot recover. Publications are appended by `ChannelPublisher`, in the same atomic step as their publish where
 * the engine allows; `append` alone takes an offset without publishing.
 */
export interface HistoryStore {
  /**
   * Assigns the next offset and, when `options.size > 0`, keeps the publication (trimming to `size` and expiring the
   * stream `ttlMs` after the last append).
   */
  append(channel: string, publication: StoredPublication, options: HistoryOptions): Promise<StreamPosition>;
  /** Current position (offset of the last publication; 0 when none). */
  position(channel: string): Promise<StreamPosition>;
  /**
   * Publications after `since` (at most `limit`), or the latest `limit` when `since` is omitted, oldest first.
   * `recovered` is false when `since` belongs to another epoch, some publications after it are no longer kept, or
   * more than `limit` follow it. With `maxBytes`, the page ends before the publication that would take the stored
   * bytes of the page over it (but holds at least one unless `maxBytes` is 0) and says `more: true` when that cut it
   * short; `recovered` is unaffected by the cut.
   */
  read(channel: string, query: HistoryQuery): Promise<HistoryPage>;
  close(): Promise<void>;
}

export interface StoredPublication {
  /** The publication's data, already JSON-encoded (stored and replayed without re-encoding). */
  dataJson: string;
  /** JSON of the sender (`{"user":..,"session":..}`) or `null`. */
  fromJson: string;
}

export interface HistoryOptions {
  size: number;
  ttlMs: number;
}

export interface HistoryQuery {
  since?: StreamPosition;
  limit: number;
  /** Bound on the page's stored bytes (data and sender JSON); omitted = no bound. */
  maxBytes?: number;
}

export interface HistoryPage extends StreamPosition {
  recovered: boolean;
  publications: Array<StoredPublication & { offset: number }>;
  /** Present (true) when `maxBytes` ended the page before `limit` or the end of the stream. */
  more?: true;
}

/** Stored bytes of a publication, as `maxBytes` counts them. */
function storedBytes(publication: StoredPublication): number {
  return publication.dataJson.length + publication.fromJson.length;
}

/** How many of `publications` (in order) fit in `maxBytes`: at least one unless `maxBytes` is 0. */
export function fitInBytes(publications: readonly StoredPublication[], maxBytes: number | undefined): number {
  if (maxBytes === undefined) return publications.length;
  let bytes = 0;
  let count = 0;
  for (const publication of publications) {
    bytes += storedBytes(publication);
    if (bytes > maxBytes && (count > 0 || maxBytes === 0)) break;
    count++;
  }
  return count;
}
