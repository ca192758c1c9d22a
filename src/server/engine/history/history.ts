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
   * Publications after `since` (at most `limit`), or the latest `limit` when `since` is omitted. `recovered` is false
   * when `since` belongs to another epoch or some publications after it are no longer kept.
   */
  read(channel: string, query: { since?: StreamPosition; limit: number }): Promise<HistoryPage>;
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

export interface HistoryPage extends StreamPosition {
  recovered: boolean;
  publications: Array<StoredPublication & { offset: number }>;
}
