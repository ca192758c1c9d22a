import type { RefreshedFrame, RefreshRequiredFrame } from '../protocol/index.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { LocalErrorCode, WsgateClientError } from './errors.js';
import type { OutgoingRequest } from './requests.js';

/**
 * Where a credential refresh stands, reported by the client's `credential` event. `channel` is set for a
 * subscription's token, absent for the connection's own credential.
 */
export type CredentialStatus =
  /** The gateway sent `refresh_required`; a fresh credential is being fetched and sent (after a jittered delay). */
  | { type: 'refreshing'; channel?: string; expiresIn: number }
  /** The gateway accepted the fresh credential; `expiresIn` (ms) is null when it does not expire. */
  | { type: 'refreshed'; channel?: string; expiresIn: number | null }
  /**
   * Fetching or sending the credential failed. `retryIn` (ms) until the next try, or null when none fits before the
   * old credential expires: the gateway then closes the connection with 4004 (or drops the subscription) and the
   * client reconnects with a fresh credential as usual.
   */
  | { type: 'refresh-failed'; channel?: string; error: WsgateClientError; expiresIn: number; retryIn: number | null };

/** What the refresher needs from its client. @internal */
export interface RefreshHost {
  /** Sends a request on the current connection; never queued for a later one. */
  call<Reply>(request: OutgoingRequest, expect: string): Promise<Reply>;
  /** Changes with every connection, so a refresh started on one is never finished on the next. */
  connection(): number;
  /** The callback that yields a fresh credential for the connection (no channel) or a subscription. */
  source(channel: string | undefined): (() => string | Promise<string>) | undefined;
  report(status: CredentialStatus): void;
}

interface Pending {
  timer: ReturnType<typeof setTimeout> | undefined;
  connection: number;
}

/**
 * Answers `refresh_required` by itself: waits a random delay (up to `jitterMs`, and at most half the time left, so a
 * fleet told at the same moment does not hit the token endpoint at once), fetches a credential from the source,
 * sends `refresh`, and on failure tries again with backoff while the old credential is still valid. One refresh per
 * target at a time; everything stops when the connection closes.
 */
export class CredentialRefresher {
  readonly #pending = new Map<string, Pending>();

  constructor(
    private readonly host: RefreshHost,
    private readonly jitterMs: number,
    private readonly backoff: Readonly<BackoffOptions>,
    private readonly random: () => number,
  ) {}

  onRefreshRequired(frame: RefreshRequiredFrame): void {
    const key = frame.channel ?? '';
    if (this.#pending.has(key)) return;
    const deadline = Date.now() + frame.expiresIn;
    const pending: Pending = { timer: undefined, connection: this.host.connection() };
    this.#pending.set(key, pending);
    this.#report(frame.channel, { type: 'refreshing', expiresIn: frame.expiresIn });
    const delay = Math.round(this.random() * Math.min(this.jitterMs, frame.expiresIn / 2));
    pending.timer = setTimeout(() => void this.#attempt(key, frame.channel, deadline, pending, 0), delay);
  }

  /** Stops the refresh of one target (a subscription that ended). */
  cancel(channel: string): void {
    const pending = this.#pending.get(channel);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(channel);
  }

  /** Stops every refresh (the connection closed: the next one authenticates afresh). */
  cancelAll(): void {
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#pending.clear();
  }

  async #attempt(key: string, channel: string | undefined, deadline: number, pending: Pending, attempt: number): Promise<void> {
    const current = () => this.#pending.get(key) === pending && this.host.connection() === pending.connection;
    try {
      const source = this.host.source(channel);
      if (!source) throw new WsgateClientError(LocalErrorCode.CREDENTIAL_FAILED, 'no getToken or getTicket to refresh with');
      let token: string;
      try {
        token = await source();
      } catch (error) {
        throw new WsgateClientError(LocalErrorCode.CREDENTIAL_FAILED, 'the credential callback failed', { cause: error });
      }
      if (!current()) return;
      const request: OutgoingRequest = { type: 'refresh', token };
      if (channel !== undefined) request.channel = channel;
      const reply = await this.host.call<RefreshedFrame>(request, 'refreshed');
      if (!current()) return;
      this.#pending.delete(key);
      this.#report(channel, { type: 'refreshed', expiresIn: reply.expiresIn });
    } catch (error) {
      if (!current()) return;
      const failure = error instanceof WsgateClientError ? error : new WsgateClientError(LocalErrorCode.CREDENTIAL_FAILED, String(error), { cause: error });
      const remaining = Math.max(0, deadline - Date.now());
      const wait = failure.code === LocalErrorCode.CREDENTIAL_FAILED && !this.host.source(channel) ? Infinity : backoffDelay(attempt, this.backoff, this.random);
      const retryIn = wait < remaining ? wait : null;
      this.#report(channel, { type: 'refresh-failed', error: failure, expiresIn: remaining, retryIn });
      if (retryIn === null) {
        this.#pending.delete(key);
        return;
      }
      pending.timer = setTimeout(() => void this.#attempt(key, channel, deadline, pending, attempt + 1), retryIn);
    }
  }

  #report(channel: string | undefined, status: CredentialStatus): void {
    this.host.report(channel === undefined ? status : { ...status, channel });
  }
}
