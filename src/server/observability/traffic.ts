import { type FrameKind, OUTBOUND_TYPES } from '../codec/frame-kinds.js';

/**
 * Plain counters the hot path bumps (a property increment, no labels, no allocation); the Prometheus metrics read
 * them when scraped. Outbound frames are counted by the kind their encoder recorded on them, so nothing is parsed.
 */
export class TrafficCounters {
  /** Frames received from clients. */
  framesIn = 0;
  /** Frames written to client sockets, and their bytes on the wire (WebSocket framing included). */
  framesOut = 0;
  bytesOut = 0;
  /** Frames that were not written: the session was closing or evicted, or its socket was gone. */
  framesDropped = 0;
  /** Frames out by type, indexed like OUTBOUND_TYPES. */
  readonly outByType = new Float64Array(OUTBOUND_TYPES.length);

  /** Counts one written frame: `kind` is what its encoder recorded, `wireBytes` its size on the wire. */
  countOut(kind: FrameKind, wireBytes: number): void {
    this.framesOut++;
    this.bytesOut += wireBytes;
    this.outByType[kind]!++;
  }
}

/**
 * Per-second rates over a sliding window: a sample of the totals each second, the rate is the difference between the
 * newest totals and the oldest sample still inside the window.
 */
export class RateWindow {
  private readonly samples: Array<{ at: number; values: number[] }> = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly read: () => number[], private readonly windowMs = 60_000, private readonly everyMs = 1_000) {}

  start(): void {
    this.sample(Date.now());
    this.timer = setInterval(() => this.sample(Date.now()), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Per-second rates of each total since the oldest sample in the window (0 before the first second). */
  rates(now = Date.now()): number[] {
    const current = this.read();
    const oldest = this.samples.find((sample) => now - sample.at <= this.windowMs) ?? this.samples.at(-1);
    if (!oldest) return current.map(() => 0);
    // Within the first second, what happened so far counts as one second's worth.
    const seconds = Math.max(1, (now - oldest.at) / 1000);
    return current.map((value, index) => Math.round(((value - oldest.values[index]!) / seconds) * 100) / 100);
  }

  private sample(now: number): void {
    this.samples.push({ at: now, values: this.read() });
    while (this.samples.length > 0 && now - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }
}
