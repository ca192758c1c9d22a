/**
 * Open connections per client address on this node (handshakes in progress count too, so a burst of parallel
 * handshakes cannot slip past the cap). `max` 0 = unlimited.
 */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts one more connection from `address`; false (and nothing counted) when it already has `max`. */
  acquire(address: string): boolean {
    const count = this.open.get(address) ?? 0;
    if (this.max > 0 && count >= this.max) return false;
    this.open.set(address, count + 1);
    return true;
  }

  release(address: string): void {
    const count = this.open.get(address) ?? 0;
    if (count <= 1) this.open.delete(address);
    else this.open.set(address, count - 1);
  }

  /** Addresses with at least one open connection. */
  get addresses(): number {
    return this.open.size;
  }
}
