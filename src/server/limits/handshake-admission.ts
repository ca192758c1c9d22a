/** What a handshake runs on: the upgrade's socket, or a streaming transport's response. */
export interface HandshakeConnection {
  once(event: 'close', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
  destroy(): unknown;
}

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
   * A place for one handshake on `connection`, or null when `max` are in progress. The place is released when the
   * connection closes first (a client that gave up mid-handshake); a handshake still in progress after `maxAgeMs`
   * (its client's own deadline has passed) has its connection destroyed, which releases it.
   */
  enter(connection: HandshakeConnection): HandshakeSlot | null {
    if (this.max > 0 && this.count >= this.max) return null;
    this.count++;
    return new HandshakeSlot(this, connection);
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
  private timer: NodeJS.Timeout | undefined;
  /** Null once released. */
  private connection: HandshakeConnection | null;

  constructor(private readonly admission: HandshakeAdmission, connection: HandshakeConnection) {
    this.connection = connection;
    connection.once('close', this.release);
    if (admission.maxAgeMs > 0) this.timer = setTimeout(() => this.connection?.destroy(), admission.maxAgeMs).unref();
  }

  readonly release = (): void => {
    if (this.connection === null) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    // The connection outlives its handshake: it must not hold the slot and its timer for as long as it stays open.
    this.connection.removeListener('close', this.release);
    this.connection = null;
    this.admission.leave();
  };
}
