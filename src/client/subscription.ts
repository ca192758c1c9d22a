import type {
  HistoryFrame,
  JoinFrame,
  LeaveFrame,
  LostFrame,
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
import { Sequencer, type LostRange } from './sequencer.js';

export type { LostRange } from './sequencer.js';

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
  /**
   * Where the channel was when the gateway answered. Not every publication between `from` and here was replayed:
   * the `lost` events before this one name exactly which were not.
   */
  position: StreamPosition;
}

export interface HistoryResult<T = unknown> {
  publications: Publication<T>[];
  /** The channel's current position. */
  position: StreamPosition;
  /** False when `since` was older than the history kept (or from another epoch): some publications are gone. */
  recovered: boolean;
  /**
   * True when the gateway's reply byte budget ended the page early: call again with `since` the last publication
   * (and the rest of `limit`) for the others.
   */
  more: boolean;
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
  /** After a reconnect, the gateway could not replay all that was missed; reload the state the channel feeds. */
  'recovery-failed': [event: RecoveryFailedEvent];
  /**
   * Publications this subscription will never deliver (see docs/client.md for the exact coverage): a gap history no
   * longer fills, a recovery that failed, the gateway's `lost` frame, or a new epoch (the rest of the old one).
   */
  lost: [range: LostRange];
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
  /** Orders publications, fills gaps from history and reports what is lost. */
  readonly #sequencer: Sequencer;
  /**
   * Channel frames that came while the `subscribed` reply was on its way through the request table: they follow it on
   * the wire, so they are sequenced after it.
   */
  #early: Array<MessageFrame | LostFrame> = [];
  /** A recovery whose replay is still coming in (pages of history). */
  #replay: { from: StreamPosition; publications: number; lost: boolean } | undefined;
  #resolveReady!: () => void;
  #rejectReady!: (error: WsgateClientError) => void;

  /** @internal Use `client.subscribe(channel)`. */
  constructor(channel: string, host: SubscriptionHost, options: SubscribeOptions = {}) {
    this.channel = channel;
    this.#host = host;
    this.#getToken = options.getToken;
    this.#sequencer = new Sequencer({
      deliver: (frame) => {
        if (this.#replay) this.#replay.publications++;
        this.#events.emit('message', toPublication<T>(frame));
      },
      lose: (range) => {
        if (this.#replay) this.#replay.lost = true;
        this.#events.emit('lost', range);
      },
      fetch: (since, limit) => this.#host.call<HistoryFrame>({ type: 'history', channel: this.channel, since, limit }, 'history'),
      caughtUp: () => this.#replayDone(),
    });
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
    return this.#sequencer.position;
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
      more: reply.more === true,
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
    // What was held back or being read from history is recovered from the position instead.
    this.#sequencer.stop();
    this.#replay = undefined;
    this.#early = [];
    const recover = this.#sequencer.position;
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
  handle(frame: MessageFrame | JoinFrame | LeaveFrame | UnsubscribedFrame | LostFrame): void {
    if (this.#state === 'unsubscribed' || this.#state === 'failed') return;
    switch (frame.type) {
      case 'message':
      case 'lost':
        if (this.#state === 'subscribing') this.#early.push(frame);
        else this.#sequence(frame);
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
    if (!recover) this.#sequencer.reset(position);
    else if (frame.recovered) {
      // The replay, then (with `more`) the rest from history up to the reply's offset; live frames wait meanwhile.
      this.#replay = { from: recover, publications: 0, lost: false };
      for (const publication of frame.publications ?? []) this.#sequencer.accept(publication);
      if (frame.epoch === recover.epoch) this.#sequencer.expect(frame.offset);
      else this.#replayDone();
    } else {
      this.#sequencer.skipTo(position);
      this.#events.emit('recovery-failed', { from: recover, position });
    }
    const early = this.#early;
    this.#early = [];
    for (const channelFrame of early) this.#sequence(channelFrame);
    this.#events.emit('subscribed', { position, resubscribed: recover !== undefined });
    this.#resolveReady();
  }

  #sequence(frame: MessageFrame | LostFrame): void {
    if (frame.type === 'message') this.#sequencer.accept(frame);
    else this.#sequencer.lost(frame);
  }

  /** The replay of a recovery reached the position the gateway answered with. */
  #replayDone(): void {
    const replay = this.#replay;
    if (!replay) return;
    this.#replay = undefined;
    const position = this.#sequencer.position!;
    if (replay.lost) this.#events.emit('recovery-failed', { from: replay.from, position });
    else this.#events.emit('recovered', { from: replay.from, publications: replay.publications });
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
    this.#sequencer.published(position);
  }

  /** Moves to a final state; false when already there. */
  #end(state: 'unsubscribed' | 'failed'): boolean {
    if (this.#state === 'unsubscribed' || this.#state === 'failed') return false;
    this.#state = state;
    this.#sequencer.stop();
    this.#host.forget(this as unknown as Subscription<never>);
    return true;
  }
}
