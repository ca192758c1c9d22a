import type {
  HistoryFrame,
  JoinFrame,
  LeaveFrame,
  MessageFrame,
  PresenceFrame,
  PresenceMember,
  SenderRef,
  StreamPosition,
  SubscribedFrame,
  UnsubscribedFrame,
} from '../protocol/index.js';
import { Emitter, type Listener } from './emitter.js';
import { LocalErrorCode, WsgateClientError } from './errors.js';
import type { OutgoingRequest } from './requests.js';

/** One message in a channel, live or replayed by recovery. */
export interface Publication<T = unknown> {
  channel: string;
  /** Increases by one per publication in the channel. */
  offset: number;
  epoch: string;
  data: T;
  /** Null when a backend published through the server API. */
  from: SenderRef | null;
}

/** A `join` or `leave` in a channel with presence: a user's first session came, or its last one left. */
export interface PresenceChange {
  channel: string;
  user: string;
  session: string;
}

export interface SubscribedEvent {
  /** The channel's position when the gateway answered. */
  position: StreamPosition;
  /** False for the first subscribe, true when restored after a reconnect. */
  resubscribed: boolean;
}

export interface RecoveredEvent {
  /** The last position seen before the connection was lost. */
  from: StreamPosition;
  /** How many missed publications were replayed (already delivered as `message` events). */
  publications: number;
}

export interface RecoveryFailedEvent {
  /** The last position seen before the connection was lost. */
  from: StreamPosition;
  /** Where the channel is now; publications between `from` and here are lost (epoch changed or history window passed). */
  position: StreamPosition;
}

export interface HistoryResult<T = unknown> {
  publications: Publication<T>[];
  /** The channel's current position. */
  position: StreamPosition;
  /** False when `since` was older than the history kept (or from another epoch): some publications are gone. */
  recovered: boolean;
}

export interface HistoryOptions {
  /** Publications after this position; omitted = the most recent `limit`. */
  since?: StreamPosition;
  /** Default and maximum: the namespace's history size. */
  limit?: number;
}

/** Events of a {@link Subscription}, with the arguments their listeners receive. */
export interface SubscriptionEvents<T = unknown> {
  message: [publication: Publication<T>];
  join: [change: PresenceChange];
  leave: [change: PresenceChange];
  /** After every successful subscribe: the first one and each restore after a reconnect. */
  subscribed: [event: SubscribedEvent];
  /** After a reconnect, every missed publication was replayed. */
  recovered: [event: RecoveredEvent];
  /** After a reconnect, the gateway could not replay what was missed; reload the state the channel feeds. */
  'recovery-failed': [event: RecoveryFailedEvent];
  /**
   * The subscription ended: by `unsubscribe()` or removed by the gateway (`byServer`), with the gateway's `code` when
   * it said why (`TOKEN_EXPIRED`: the subscription token ran out without a refresh; `CREDENTIAL_REVOKED`).
   */
  unsubscribed: [event: { byServer: boolean; code?: string }];
  /** Subscribing failed (`CHANNEL_FORBIDDEN`, `TIMEOUT`, ...); the subscription is over. */
  error: [error: WsgateClientError];
}

/**
 * `subscribing`: waiting for `subscribed` (also while the client reconnects); `subscribed`: live; `unsubscribed` and
 * `failed` are final.
 */
export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed' | 'failed';

/** Options of `client.subscribe(channel, options)`. */
export interface SubscribeOptions {
  /**
   * Returns a subscription token for the channel (a JWT the application's backend signs). Called before every
   * subscribe, restores after reconnects included, and when the gateway asks for a refresh of the token.
   */
  getToken?: (channel: string) => string | Promise<string>;
}

/** What a subscription needs from its client. @internal */
export interface SubscriptionHost {
  call<Reply>(request: OutgoingRequest, expect: string): Promise<Reply>;
  publish(channel: string, data: unknown): Promise<StreamPosition>;
  isConnected(): boolean;
  forget(subscription: Subscription<never>): void;
}

function toPublication<T>(frame: MessageFrame): Publication<T> {
  return { channel: frame.channel, offset: frame.offset, epoch: frame.epoch, data: frame.data as T, from: frame.from };
}

/**
 * A subscription to one channel, created by `client.subscribe(channel)`. It survives reconnects: the client subscribes
 * again with `recover` set to the last position seen, replays what was missed as `message` events, and reports
 * `recovered` or `recovery-failed`.
 */
export class Subscription<T = unknown> {
  readonly channel: string;
  /**
   * Resolves on the first `subscribed`; rejects with a {@link WsgateClientError} when the first subscribe fails. Later
   * restores after reconnects are reported as events, not through this promise.
   */
  readonly ready: Promise<void>;

  readonly #host: SubscriptionHost;
  readonly #getToken: SubscribeOptions['getToken'];
  readonly #events = new Emitter<SubscriptionEvents<T>>();
  #state: SubscriptionState = 'subscribing';
  #position: StreamPosition | undefined;
  /** Offsets this client published above `#position` (same epoch). */
  readonly #ownOffsets = new Set<number>();
  #resolveReady!: () => void;
  #rejectReady!: (error: WsgateClientError) => void;

  /** @internal Use `client.subscribe(channel)`. */
  constructor(channel: string, host: SubscriptionHost, options: SubscribeOptions = {}) {
    this.channel = channel;
    this.#host = host;
    this.#getToken = options.getToken;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // An application that never awaits `ready` must not get an unhandled rejection; the `error` event reports it too.
    this.ready.catch(() => {});
  }

  get state(): SubscriptionState {
    return this.#state;
  }

  /** The last position seen (from `subscribed` or a message); what the next restore recovers from. */
  get position(): StreamPosition | undefined {
    return this.#position && { ...this.#position };
  }

  on<K extends keyof SubscriptionEvents<T>>(event: K, listener: Listener<SubscriptionEvents<T>[K]>): () => void {
    return this.#events.on(event, listener);
  }

  once<K extends keyof SubscriptionEvents<T>>(event: K, listener: Listener<SubscriptionEvents<T>[K]>): () => void {
    return this.#events.once(event, listener);
  }

  off<K extends keyof SubscriptionEvents<T>>(event: K, listener: Listener<SubscriptionEvents<T>[K]>): void {
    this.#events.off(event, listener);
  }

  /** Publishes to this channel; resolves with the publication's position. */
  async publish(data: T): Promise<StreamPosition> {
    return this.#host.publish(this.channel, data);
  }

  /** The users present in the channel (namespaces with presence), each with its number of sessions. */
  async presence(): Promise<PresenceMember[]> {
    const reply = await this.#host.call<PresenceFrame>({ type: 'presence', channel: this.channel }, 'presence');
    return reply.members;
  }

  /** Publications kept in the channel's history. */
  async history(options: HistoryOptions = {}): Promise<HistoryResult<T>> {
    const reply = await this.#host.call<HistoryFrame>({ type: 'history', channel: this.channel, ...options }, 'history');
    return {
      publications: reply.publications.map((frame) => toPublication<T>(frame)),
      position: { offset: reply.offset, epoch: reply.epoch },
      recovered: reply.recovered,
    };
  }

  /**
   * Ends the subscription: no more events, not restored after reconnects. Resolves once the gateway confirmed, or at
   * once when offline; never rejects, because the gateway drops the subscription with the connection anyway.
   */
  async unsubscribe(): Promise<void> {
    if (!this.#end('unsubscribed')) return;
    this.#events.emit('unsubscribed', { byServer: false });
    this.#events.removeAllListeners();
    if (!this.#host.isConnected()) return;
    await this.#host.call({ type: 'unsubscribe', channel: this.channel }, 'unsubscribed').catch(() => {});
  }

  /** @internal Sends `subscribe`, with `recover` once a position is known. Called on every `welcome`. */
  subscribe(): void {
    if (this.#state === 'unsubscribed' || this.#state === 'failed') return;
    this.#state = 'subscribing';
    const recover = this.#position && { ...this.#position };
    const request: OutgoingRequest = { type: 'subscribe', channel: this.channel };
    if (recover) request.recover = recover;
    const sent = this.#getToken ? this.#withToken(request, this.#getToken) : this.#host.call<SubscribedFrame>(request, 'subscribed');
    sent.then(
      (frame) => this.#onSubscribed(frame, recover),
      (error: WsgateClientError) => this.#onSubscribeFailed(error),
    );
  }

  /** Fetches a subscription token and sends the subscribe with it. */
  async #withToken(request: OutgoingRequest, getToken: NonNullable<SubscribeOptions['getToken']>): Promise<SubscribedFrame> {
    try {
      request.token = await getToken(this.channel);
    } catch (error) {
      throw new WsgateClientError(LocalErrorCode.CREDENTIAL_FAILED, `getToken failed for ${this.channel}`, { cause: error });
    }
    return this.#host.call<SubscribedFrame>(request, 'subscribed');
  }

  /** @internal The callback that yields this subscription's tokens, if it has one. */
  tokenSource(): SubscribeOptions['getToken'] {
    return this.#getToken;
  }

  /**
   * @internal A backend subscribed the session (`subscribed` without an id). From here on the subscription behaves
   * like one the client made, restored after reconnects included.
   */
  adopt(frame: SubscribedFrame): void {
    this.#onSubscribed(frame, undefined);
  }

  /** @internal A frame addressed to this channel. */
  handle(frame: MessageFrame | JoinFrame | LeaveFrame | UnsubscribedFrame): void {
    if (this.#state === 'unsubscribed' || this.#state === 'failed') return;
    switch (frame.type) {
      case 'message':
        this.#deliver(frame);
        break;
      case 'join':
      case 'leave':
        this.#events.emit(frame.type, { channel: frame.channel, user: frame.user, session: frame.session });
        break;
      case 'unsubscribed':
        // Without an id: the gateway removed the subscription (a backend, an expired or revoked token).
        if (this.#end('unsubscribed')) this.#events.emit('unsubscribed', frame.code === undefined ? { byServer: true } : { byServer: true, code: frame.code });
        break;
    }
  }

  #onSubscribed(frame: SubscribedFrame, recover: StreamPosition | undefined): void {
    if (this.#state !== 'subscribing') return; // unsubscribed while the request was in flight
    this.#state = 'subscribed';
    const position = { offset: frame.offset, epoch: frame.epoch };
    if (recover) {
      if (frame.recovered) {
        let replayed = 0;
        for (const publication of frame.publications ?? []) {
          if (this.#deliver(publication)) replayed++;
        }
        this.#advance(position);
        this.#events.emit('recovered', { from: recover, publications: replayed });
      } else {
        this.#position = position;
        this.#ownOffsets.clear();
        this.#events.emit('recovery-failed', { from: recover, position });
      }
    } else this.#advance(position);
    this.#events.emit('subscribed', { position, resubscribed: recover !== undefined });
    this.#resolveReady();
  }

  #onSubscribeFailed(error: WsgateClientError): void {
    // The connection dropped before the answer: the client subscribes again on the next `welcome`.
    if (error.code === LocalErrorCode.DISCONNECTED || this.#state !== 'subscribing') return;
    this.#end('failed');
    if (error.code === LocalErrorCode.TIMEOUT && this.#host.isConnected()) {
      // The gateway may still subscribe us after the deadline; make sure it stops delivering to a dead subscription.
      this.#host.call({ type: 'unsubscribe', channel: this.channel }, 'unsubscribed').catch(() => {});
    }
    this.#rejectReady(error);
    this.#events.emit('error', error);
  }

  /**
   * @internal The gateway accepted a publication of this client to this channel. It never comes back live (publishers
   * do not receive their own), but a recovery replay would include it: remember it so the replay can skip it.
   */
  published(position: StreamPosition): void {
    if (this.#position && position.epoch === this.#position.epoch && position.offset > this.#position.offset)
      this.#ownOffsets.add(position.offset);
  }

  /** Emits a publication unless already seen or published by this client; true when emitted. */
  #deliver(frame: MessageFrame): boolean {
    const last = this.#position;
    if (last && last.epoch === frame.epoch && (frame.offset <= last.offset || this.#ownOffsets.has(frame.offset))) {
      return false;
    }
    this.#advance({ offset: frame.offset, epoch: frame.epoch });
    this.#events.emit('message', toPublication<T>(frame));
    return true;
  }

  #advance(next: StreamPosition): void {
    const last = this.#position;
    if (last && last.epoch === next.epoch && next.offset <= last.offset) return;
    this.#position = { ...next };
    // Own offsets at or below the position can no longer appear in a replay; keeps the set small.
    if (last?.epoch !== next.epoch) this.#ownOffsets.clear();
    else for (const offset of this.#ownOffsets) if (offset <= next.offset) this.#ownOffsets.delete(offset);
  }

  /** Moves to a final state; false when already there. */
  #end(state: 'unsubscribed' | 'failed'): boolean {
    if (this.#state === 'unsubscribed' || this.#state === 'failed') return false;
    this.#state = state;
    this.#host.forget(this as unknown as Subscription<never>);
    return true;
  }
}
