import type { PreparedFrame } from '../codec/prepared-frame.js';

/**
 * The frames one channel fanned out during one event-loop turn, shared by its subscribers that had nothing else queued
 * (its riders). A publication is appended here once instead of being queued for each subscriber, and every rider writes
 * the same frames when the turn flushes: at a high publication rate the fan-out costs one append per publication and
 * one write per subscriber, whatever the number of publications in the turn.
 *
 * Guarantee: a session rides one run at a time, only while nothing else is queued for it, and the run only grows while
 * it rides. Anything else sent to a rider first turns what it rode into its own queue (`Session.leaveRun`), so every
 * session's frames keep the order in which they were sent to it. Append-only: frames are never removed or reordered.
 */
export class FrameRun {
  readonly frames: PreparedFrame[] = [];
  /** The sum of the frames' wire sizes. */
  bytes = 0;
  /** Sessions riding the run now. */
  riders = 0;

  append(frame: PreparedFrame): void {
    this.frames.push(frame);
    this.bytes += frame.wire.length;
  }

  /** The wire bytes of the frames from `start` on. */
  bytesFrom(start: number): number {
    if (start === 0) return this.bytes;
    let bytes = 0;
    for (let i = start; i < this.frames.length; i++) bytes += this.frames[i]!.wire.length;
    return bytes;
  }
}
