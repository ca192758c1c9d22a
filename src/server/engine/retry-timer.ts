/**
 * Runs `attempt` again after a failure, with a growing pause (0.5 s doubling to 10 s), until it succeeds: for work a
 * store call left undone that must not wait for an outage to be noticed and healed. `schedule` is idempotent while a
 * retry is pending; the timer never holds the process open.
 */
export class RetryTimer {
  static readonly MIN_MS = 500;
  static readonly MAX_MS = 10_000;
  private timer: NodeJS.Timeout | null = null;
  private delayMs = RetryTimer.MIN_MS;

  constructor(private readonly attempt: () => Promise<void>, private readonly onError: (error: unknown) => void = () => {}) {}

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.attempt().then(
        () => (this.delayMs = RetryTimer.MIN_MS),
        (error: unknown) => {
          this.onError(error);
          this.delayMs = Math.min(this.delayMs * 2, RetryTimer.MAX_MS);
          this.schedule();
        },
      );
    }, this.delayMs);
    this.timer.unref();
  }
}
