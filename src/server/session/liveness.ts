import { Disconnects } from '../../protocol/close-codes.js';
import type { Session } from './session.js';

/**
 * Pings every session each `intervalMs` and drops those that did not answer within `timeoutMs` (PING_TIMEOUT). One
 * timer for the node; sessions are pinged relative to their own last ping, so pings spread over time instead of bursting.
 */
export class LivenessMonitor {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly sessions: ReadonlyMap<string, Session>,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    const tick = Math.max(50, Math.min(this.intervalMs, this.timeoutMs) / 4);
    this.timer = setInterval(() => this.check(Date.now()), tick);
    this.timer.unref();
  }

  private check(now: number): void {
    let overdue: Session[] | undefined;
    for (const session of this.sessions.values()) {
      if (session.closing) continue;
      if (!session.heartbeat(now, this.intervalMs, this.timeoutMs)) (overdue ??= []).push(session);
    }
    // Timers run before the event loop reads sockets: after a stall (a busy or starved process), pongs that arrived in
    // time may still sit unread. Judge again once the loop has read what is waiting (setImmediate runs after that).
    if (overdue) setImmediate(() => this.expire(overdue));
  }

  private expire(overdue: Session[]): void {
    const now = Date.now();
    for (const session of overdue) {
      if (!session.closing && !session.heartbeat(now, this.intervalMs, this.timeoutMs)) session.terminate(Disconnects.PING_TIMEOUT);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
