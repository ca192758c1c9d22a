/** setTimeout cannot wait longer than ~24.8 days; longer waits are re-armed when this much has passed. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One credential's deadline: `onWarn` fires `leadMs` before it (or halfway through the time left when that is
 * sooner), `onExpire` at it. Moving the deadline (a refresh) re-arms both; one timer at a time, unreferenced so it
 * never keeps a process alive.
 */
export class ExpiryTimer {
  private timer?: NodeJS.Timeout;
  private deadline?: number;
  private warnAt = 0;
  private warned = false;
  /** Bumped by every `set` and `clear`, so a callback that re-armed the timer is noticed. */
  private generation = 0;

  constructor(
    private readonly leadMs: number,
    private readonly onWarn: (expiresIn: number) => void,
    private readonly onExpire: () => void,
  ) {}

  /** The deadline in force, epoch milliseconds; undefined when none. */
  get expiresAt(): number | undefined {
    return this.deadline;
  }

  /** Sets (or with undefined, removes) the deadline. A deadline already passed expires at once. */
  set(deadline: number | undefined): void {
    this.clear();
    if (deadline === undefined) return;
    const now = Date.now();
    this.deadline = deadline;
    this.warned = false;
    // Fixed once per deadline: recomputing "halfway through what is left" at every wake-up would never arrive.
    this.warnAt = deadline - Math.min(this.leadMs, Math.max(0, deadline - now) / 2);
    this.arm();
  }

  clear(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.deadline = undefined;
  }

  private arm(): void {
    const deadline = this.deadline;
    if (deadline === undefined) return;
    const now = Date.now();
    if (now >= deadline) {
      this.deadline = undefined;
      this.onExpire();
      return;
    }
    if (!this.warned && now >= this.warnAt) {
      this.warned = true;
      const generation = this.generation;
      this.onWarn(deadline - now);
      // The warning may have moved the deadline (a synchronous refresh) or cleared it.
      if (this.generation !== generation) return;
    }
    const next = this.warned ? deadline : this.warnAt;
    this.timer = setTimeout(() => this.arm(), Math.min(Math.max(0, next - now), MAX_TIMEOUT_MS));
    this.timer.unref();
  }
}
