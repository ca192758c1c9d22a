import { FrameBatches } from '../codec/prepared-frame.js';

/** Something with frames queued for its socket. */
export interface Flushable {
  flush(): void;
}

/**
 * Coalesces writes: frames queued for a socket during one event-loop turn go out together when the turn ends (one
 * `writev` per socket instead of one `write` per frame). One `setImmediate` serves every socket of the node.
 */
export class FlushScheduler {
  /** The batch the sessions flushed in this turn share (the transports build it); dropped when the turn ends. */
  readonly batches = new FrameBatches();
  private dirty: Flushable[] = [];
  private scheduled = false;

  schedule(target: Flushable): void {
    this.dirty.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const batch = this.dirty;
    this.dirty = [];
    for (const target of batch) target.flush();
    this.batches.clear();
  };
}
