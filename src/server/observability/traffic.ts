/**
 * Plain counters the hot path bumps (a property increment, no labels, no allocation); the Prometheus metrics read
 * them when scraped. Outbound frames are classified by sniffing the type's first bytes of `{"type":"...` — every
 * frame the gateway writes starts that way — so nothing is parsed.
 */
export const OUTBOUND_TYPES = [
  'welcome', 'subscribed', 'unsubscribed', 'published', 'presence', 'history', 'sent', 'message', 'join', 'leave',
  'direct', 'reply', 'error', 'disconnect', 'refresh_required', 'refreshed', 'lost', 'action',
] as const;

export type OutboundType = (typeof OUTBOUND_TYPES)[number];

const TYPE_START = 9; // {"type":"
const QUOTE = 0x22;

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

  /** Counts one written frame: `payload` is its JSON text, `wireBytes` its size on the wire. */
  countOut(payload: Buffer, wireBytes: number): void {
    this.framesOut++;
    this.bytesOut += wireBytes;
    this.outByType[classify(payload)]!++;
  }
}

const T = Object.fromEntries(OUTBOUND_TYPES.map((type, index) => [type, index])) as Record<OutboundType, number>;
const ACTION = T.action;

/** The index of the frame's type in OUTBOUND_TYPES; `action` for anything else (application actions). */
export function classify(payload: Buffer): number {
  const first = payload[TYPE_START];
  switch (first) {
    case 0x6d: return ends(payload, 7) ? T.message : ACTION; // m
    case 0x6a: return ends(payload, 4) ? T.join : ACTION; // j
    case 0x6c: // l: leave | lost
      if (payload[TYPE_START + 1] === 0x65) return ends(payload, 5) ? T.leave : ACTION;
      return ends(payload, 4) ? T.lost : ACTION;
    case 0x77: return ends(payload, 7) ? T.welcome : ACTION; // w
    case 0x68: return ends(payload, 7) ? T.history : ACTION; // h
    case 0x72: // r: reply | refreshed | refresh_required
      if (payload[TYPE_START + 2] === 0x70) return ends(payload, 5) ? T.reply : ACTION;
      if (ends(payload, 9)) return payload[TYPE_START + 8] === 0x64 ? T.refreshed : ACTION;
      return ends(payload, 16) && payload[TYPE_START + 7] === 0x5f ? T.refresh_required : ACTION;
    case 0x65: return ends(payload, 5) ? T.error : ACTION; // e
    case 0x75: return ends(payload, 12) ? T.unsubscribed : ACTION; // u
    case 0x73: // s: subscribed | sent
      if (payload[TYPE_START + 1] === 0x75) return ends(payload, 10) ? T.subscribed : ACTION;
      return ends(payload, 4) ? T.sent : ACTION;
    case 0x70: // p: published | presence
      if (payload[TYPE_START + 1] === 0x75) return ends(payload, 9) ? T.published : ACTION;
      return ends(payload, 8) ? T.presence : ACTION;
    case 0x64: // d: direct | disconnect
      if (payload[TYPE_START + 2] === 0x72) return ends(payload, 6) ? T.direct : ACTION;
      return ends(payload, 10) ? T.disconnect : ACTION;
    default:
      return ACTION;
  }
}

/** True when the type string has exactly `length` characters (its closing quote is where it should be). */
function ends(payload: Buffer, length: number): boolean {
  return payload[TYPE_START + length] === QUOTE;
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
