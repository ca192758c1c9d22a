/**
 * Handshakes in progress on this node, bounded (`limits.maxHandshakes`), each for at most `limits.handshakeTimeoutMs`.
 * A handshake is in progress from its opening request until its session is welcomed, it is refused, or its connection
 * closes, whichever comes first. In a reconnect storm the node then serves handshakes at the rate it can finish them
 * and refuses the rest at once and cheaply (503 `NODE_BUSY`, before any ticket is taken), instead of taking every one
 * and finishing them after their clients have given up. `max` 0 = unlimited; `maxAgeMs` 0 = no age bound.
 */
export class HandshakeAdmission {
  private count = 0;

  constructor(readonly max: number, readonly maxAgeMs: number) {}

  /**
   * A place for one handshake, or null when `max` are in progress. `expired` runs when the handshake is still in
   * progress after `maxAgeMs` (its client's own deadline has passed): it must end the connection, which releases the
   * place.
   */
  enter(expired: () => void): HandshakeSlot | null {
    if (this.max > 0 && this.count >= this.max) return null;
    this.count++;
    return new HandshakeSlot(this, this.maxAgeMs > 0 ? setTimeout(expired, this.maxAgeMs).unref() : undefined);
  }

  /** Handshakes in progress now. */
  get inProgress(): number {
    return this.count;
  }

  /** @internal Called once per slot. */
  leave(): void {
    this.count--;
  }
}

/** One handshake's place; `release` may be called any number of times, only the first counts. */
export class HandshakeSlot {
  private released = false;

  constructor(private readonly admission: HandshakeAdmission, private readonly timer: NodeJS.Timeout | undefined) {}

  readonly release = (): void => {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.timer);
    this.admission.leave();
  };
}
