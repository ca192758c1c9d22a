import {
  ACTION_TYPE_PATTERN,
  CloseCode,
  closeCodeName,
  isReservedType,
  parseChannel,
  shouldReconnect,
  Subprotocol,
  type DirectFrame,
  type DisconnectFrame,
  type ErrorFrame,
  type JoinFrame,
  type LeaveFrame,
  type LostFrame,
  type MessageFrame,
  type PublishedFrame,
  type RefreshRequiredFrame,
  type ReplyFrame,
  type SenderRef,
  type SentFrame,
  type StreamPosition,
  type SubscribedFrame,
  type UnsubscribedFrame,
  type WelcomeFrame,
} from '../protocol/index.js';
import { backoffDelay, resolveBackoff, type BackoffOptions } from './backoff.js';
import { CredentialRefresher, type CredentialStatus } from './credential-refresh.js';
import { Emitter, type Listener } from './emitter.js';
import { LocalErrorCode, WsgateClientError } from './errors.js';
import { RequestTable, type OutgoingRequest } from './requests.js';
import { onHandshakeRefusal, resolveGatewayUrl, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from './socket.js';
import type { ClientStatus } from './status.js';
import { EventSourceLink, FetchStreamLink, streamingBase, type TransportName } from './stream-link.js';
import { Subscription, type SubscribeOptions, type SubscriptionHost } from './subscription.js';

/** A credential callback; called before every connection attempt, because tickets are single-use. */
export type CredentialSource = () => string | Promise<string>;

/** Options of {@link WsgateClient}; every one is optional. */
export interface WsgateClientOptions {
  /**
   * The gateway's WebSocket endpoint, e.g. `wss://rt.example.com/ws`. Default in browsers: `/ws` on the page's origin;
   * relative URLs resolve against the page; `http(s):` becomes `ws(s):`. Required in Node.
   */
  url?: string | URL;
  /**
   * Returns a one-time ticket (sent as `?ticket=`); takes precedence over `getToken`. Also called when the gateway asks
   * for a refresh (`refresh_required`), so the session goes on without reconnecting.
   */
  getTicket?: CredentialSource;
  /**
   * Returns a JWT (sent as `?token=`, and in `refresh` when the gateway asks for one). Without either callback the
   * browser's session cookie authenticates, and a session whose credential expires reconnects.
   */
  getToken?: CredentialSource;
  /** WebSocket implementation. Default `globalThis.WebSocket` (browsers, Node 22 and later); `ws`'s works too. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect delays. Default `{ minDelay: 500, maxDelay: 20000, factor: 2 }`. */
  backoff?: Partial<BackoffOptions>;
  /** Default timeout of every request, in ms (including time spent waiting for a reconnect). Default 10 000. */
  requestTimeout?: number;
  /** Time allowed from the start of an attempt (credential callback included) to `welcome`, in ms. Default 10 000. */
  connectTimeout?: number;
  /** Longest random delay before answering `refresh_required` (at most half the time left), in ms. Default 10 000. */
  refreshJitter?: number;
  /** Source of jitter in `[0, 1)`. Default `Math.random`. */
  random?: () => number;
  /**
   * The transports to use, in order of preference: `'websocket'`, `'sse'` (Server-Sent Events with POSTs) and
   * `'http-stream'` (a streaming `fetch` with POSTs, where EventSource is missing). A transport whose browser API is
   * missing is left out. Default in browsers: all three; elsewhere: `['websocket']`.
   */
  transports?: readonly TransportName[];
  /** Attempts on one transport that end before `welcome` before the client moves to the next. Default 2. */
  fallbackAfter?: number;
  /**
   * While a session runs on a fallback transport, how often the client tries a WebSocket in the background (in ms);
   * when one is welcomed the session moves onto it and its subscriptions recover what they missed. 0: never. Default 60 000.
   */
  upgradeRetryInterval?: number;
  /** EventSource implementation for `'sse'`. Default `globalThis.EventSource`. */
  EventSource?: typeof EventSource;
}

/** Per-call options of requests. */
export interface RequestOptions {
  /** In ms; default: the client's `requestTimeout`. */
  timeout?: number;
}

/** A direct message to this user, or the mirror of one this user sent from another session (then `to` is not us). */
export interface DirectMessage<T = unknown> {
  from: SenderRef;
  to: string;
  data: T;
}

/** An application action a backend pushed to this session. */
export interface PushedAction {
  type: string;
  payload: unknown;
}

/** Client events and the arguments their listeners receive. Any other name passed to `on` is an action type. */
export interface ClientEvents {
  status: [status: ClientStatus];
  direct: [message: DirectMessage];
  /** Every pushed action, including those whose type collides with a client event name (`status`, `action`, ...). */
  action: [action: PushedAction];
  /** A backend subscribed this session to a channel (server API); attach listeners to it here. */
  subscription: [subscription: Subscription];
  /** Failures not tied to a request: connection attempts, unreadable frames, `error` frames without an id. */
  error: [error: WsgateClientError];
  /** The connection's credential, or a subscription's token, is being refreshed, was, or could not be. */
  credential: [status: CredentialStatus];
}

const CLIENT_EVENTS: ReadonlySet<string> = new Set<keyof ClientEvents>([
  'credential',
  'status',
  'direct',
  'action',
  'subscription',
  'error',
]);

/** Defaults of {@link WsgateClientOptions}. */
export const CLIENT_DEFAULTS = Object.freeze({
  requestTimeout: 10_000,
  connectTimeout: 10_000,
  refreshJitter: 10_000,
  fallbackAfter: 2,
  upgradeRetryInterval: 60_000,
});

type ActionEvents = Record<string, [payload: unknown, action: PushedAction]>;

/**
 * The wsgate client: one WebSocket to the gateway, reconnected with exponential backoff and full jitter unless the
 * gateway closed with a terminal code (1000, 4500–4999). Subscriptions are restored with history recovery; requests
 * issued while reconnecting wait for the connection, bounded by their timeout. Call {@link WsgateClient.connect}.
 */
export class WsgateClient {
  readonly #url: URL;
  readonly #WebSocket: WebSocketConstructor;
  readonly #getTicket: CredentialSource | undefined;
  readonly #getToken: CredentialSource | undefined;
  readonly #backoff: Readonly<BackoffOptions>;
  readonly #requestTimeout: number;
  readonly #connectTimeout: number;
  readonly #random: () => number;
  /** The usable transports, in order of preference. */
  readonly #transports: readonly TransportName[];
  readonly #fallbackAfter: number;
  readonly #upgradeRetryInterval: number;
  readonly #EventSource: typeof EventSource | undefined;
  /** The transport attempts use now (an index into `#transports`), and how many failed on it in a row. */
  #transportIndex = 0;
  #transportFailures = 0;
  /** A WebSocket tried in the background while the session runs on a fallback, and its timer. */
  #probe: WebSocketLike | undefined;
  #probeTimer: ReturnType<typeof setTimeout> | undefined;

  readonly #events = new Emitter<ClientEvents>();
  readonly #actions = new Emitter<ActionEvents>();
  readonly #requests = new RequestTable();
  readonly #subscriptions = new Map<string, Subscription<never>>();
  readonly #host: SubscriptionHost;
  readonly #refresher: CredentialRefresher;

  #status: ClientStatus = { type: 'disconnected', code: CloseCode.NORMAL, reason: 'not connected' };
  #socket: WebSocketLike | undefined;
  /** True once the current socket received `welcome`. */
  #connected = false;
  /** Failed attempts since the last `welcome`. */
  #attempt = 0;
  /** Bumped whenever the current attempt is abandoned, so late callbacks of an old attempt do nothing. */
  #generation = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The `disconnect` frame the current socket received, read when it closes. */
  #disconnectFrame: DisconnectFrame | undefined;
  #lastSocketError: unknown;
  /** The `Retry-After` of the current attempt's refused handshake (ms), where the WebSocket implementation shows it. */
  #retryAfter: number | undefined;
  /** Bumped when a connection is welcomed and when it closes: refreshes belong to one connection. */
  #connection = 0;

  constructor(options: WsgateClientOptions = {}) {
    this.#url = resolveGatewayUrl(options.url);
    this.#getTicket = options.getTicket;
    this.#getToken = options.getToken;
    this.#backoff = resolveBackoff(options.backoff);
    this.#requestTimeout = options.requestTimeout ?? CLIENT_DEFAULTS.requestTimeout;
    this.#connectTimeout = options.connectTimeout ?? CLIENT_DEFAULTS.connectTimeout;
    this.#random = options.random ?? Math.random;
    this.#EventSource = options.EventSource ?? (globalThis as { EventSource?: typeof EventSource }).EventSource;
    this.#transports = usableTransports(options.transports, this.#EventSource);
    // Without 'websocket' among the transports no WebSocket is needed, nor asked for.
    this.#WebSocket = this.#transports.includes('websocket') ? resolveWebSocket(options.WebSocket) : (options.WebSocket ?? NoWebSocket);
    this.#fallbackAfter = Math.max(1, options.fallbackAfter ?? CLIENT_DEFAULTS.fallbackAfter);
    this.#upgradeRetryInterval = options.upgradeRetryInterval ?? CLIENT_DEFAULTS.upgradeRetryInterval;
    this.#host = {
      call: (request, expect) => this.#call(request, expect, this.#requestTimeout),
      publish: (channel, data) => this.publish(channel, data),
      isConnected: () => this.#connected,
      forget: (subscription) => {
        if (this.#subscriptions.get(subscription.channel) !== subscription) return;
        this.#subscriptions.delete(subscription.channel);
        this.#refresher.cancel(subscription.channel);
      },
    };
    this.#refresher = new CredentialRefresher(
      {
        call: (request, expect) =>
          this.#connected
            ? this.#call(request, expect, this.#requestTimeout)
            : Promise.reject(new WsgateClientError(LocalErrorCode.DISCONNECTED, 'refresh failed: not connected')),
        connection: () => this.#connection,
        source: (channel) => {
          if (channel === undefined) return this.#getTicket ?? this.#getToken;
          const source = this.#subscriptions.get(channel)?.tokenSource();
          return source && (() => source(channel));
        },
        report: (status) => this.#events.emit('credential', status),
      },
      options.refreshJitter ?? CLIENT_DEFAULTS.refreshJitter,
      this.#backoff,
      this.#random,
    );
  }

  /** The current connection status; `status` events report every change. */
  get status(): ClientStatus {
    return this.#status;
  }

  /** Starts connecting (and reconnecting). Does nothing unless the status is `disconnected`. */
  connect(): void {
    if (this.#status.type !== 'disconnected') return;
    this.#attempt = 0;
    void this.#dial();
  }

  /**
   * Closes the connection with 1000 and stops reconnecting. Pending requests reject with `DISCONNECTED`; subscriptions
   * are kept and restored by the next `connect()`.
   */
  disconnect(): void {
    if (this.#status.type === 'disconnected') return;
    this.#stop(CloseCode.NORMAL, 'client disconnected');
  }

  /** Listens to a client event (`status`, `credential`, `direct`, `action`, `subscription`, `error`); returns a remover. */
  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void;
  /** Listens to application actions of `type` that backends push to this session. */
  on(type: string, listener: (payload: unknown, action: PushedAction) => void): () => void;
  on(event: string, listener: (...args: never[]) => void): () => void {
    if (CLIENT_EVENTS.has(event)) return this.#events.on(event as keyof ClientEvents, listener as Listener<unknown[]>);
    return this.#actions.on(event, listener as Listener<ActionEvents[string]>);
  }

  once<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void;
  once(type: string, listener: (payload: unknown, action: PushedAction) => void): () => void;
  once(event: string, listener: (...args: never[]) => void): () => void {
    if (CLIENT_EVENTS.has(event)) return this.#events.once(event as keyof ClientEvents, listener as Listener<unknown[]>);
    return this.#actions.once(event, listener as Listener<ActionEvents[string]>);
  }

  off<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): void;
  off(type: string, listener: (payload: unknown, action: PushedAction) => void): void;
  off(event: string, listener: (...args: never[]) => void): void {
    if (CLIENT_EVENTS.has(event)) this.#events.off(event as keyof ClientEvents, listener as Listener<unknown[]>);
    else this.#actions.off(event, listener as Listener<ActionEvents[string]>);
  }

  /**
   * Subscribes to a channel. The subscription is sent now when connected, else on connect, and restored after every
   * reconnect. With `getToken`, every subscribe carries a subscription token from it, and the token is refreshed
   * through it when the gateway asks. Throws `CHANNEL_INVALID` for a malformed name and `ALREADY_SUBSCRIBED` when
   * this client already holds one for the channel (see {@link WsgateClient.subscription}).
   */
  subscribe<T = unknown>(channel: string, options: SubscribeOptions = {}): Subscription<T> {
    if (!parseChannel(channel)) throw new WsgateClientError('CHANNEL_INVALID', `not a channel name: ${channel}`);
    if (this.#subscriptions.has(channel))
      throw new WsgateClientError('ALREADY_SUBSCRIBED', `already subscribed to ${channel}`);
    const subscription = new Subscription<T>(channel, this.#host, options);
    this.#subscriptions.set(channel, subscription as unknown as Subscription<never>);
    if (this.#connected) subscription.subscribe();
    return subscription;
  }

  /** The live subscription to `channel`, if any. */
  subscription<T = unknown>(channel: string): Subscription<T> | undefined {
    return this.#subscriptions.get(channel) as Subscription<T> | undefined;
  }

  /** All live subscriptions. */
  subscriptions(): Subscription[] {
    return [...this.#subscriptions.values()] as Subscription[];
  }

  /** Publishes to a channel (the namespace must allow client publishing); resolves with the publication's position. */
  async publish(channel: string, data: unknown, options: RequestOptions = {}): Promise<StreamPosition> {
    const reply = await this.#call<PublishedFrame>({ type: 'publish', channel, data }, 'published', options.timeout);
    const position = { offset: reply.offset, epoch: reply.epoch };
    this.#subscriptions.get(channel)?.published(position);
    return position;
  }

  /**
   * Sends a direct message to every session of `user`; resolves with how many sessions it reached where the gateway
   * reveals that (`sessions` is absent otherwise).
   */
  async send(user: string, data: unknown, options: RequestOptions = {}): Promise<{ sessions?: number }> {
    const reply = await this.#call<SentFrame>({ type: 'send', user, data }, 'sent', options.timeout);
    return reply.sessions === undefined ? {} : { sessions: reply.sessions };
  }

  /**
   * Sends an application action `{type, id, payload}` to the backend that owns `type`; resolves with the `reply`
   * payload. Rejects with the gateway's code (`NO_ROUTE`, `BACKEND_TIMEOUT`, ...), `TIMEOUT` or `DISCONNECTED`;
   * with `ACTION_RESERVED` or `BAD_REQUEST` for a protocol type or a malformed one, without sending anything.
   */
  async request<Reply = unknown>(type: string, payload?: unknown, options: RequestOptions = {}): Promise<Reply> {
    if (isReservedType(type)) throw new WsgateClientError('ACTION_RESERVED', `${type} is a protocol frame type`);
    if (!ACTION_TYPE_PATTERN.test(type)) throw new WsgateClientError('BAD_REQUEST', `not an action type: ${type}`);
    const frame: OutgoingRequest = { type };
    if (payload !== undefined) frame.payload = payload;
    const reply = await this.#call<ReplyFrame>(frame, 'reply', options.timeout);
    return reply.payload as Reply;
  }

  // ---- connection lifecycle --------------------------------------------------------------------------------------

  async #dial(): Promise<void> {
    const generation = ++this.#generation;
    // The deadline covers the credential callback too: a hanging `getTicket` must not stall the client for good.
    this.#timer = setTimeout(() => {
      this.#abandonAttempt();
      this.#transportFailed();
      this.#attemptFailed(`no welcome within ${this.#connectTimeout} ms`);
    }, this.#connectTimeout);
    const transport = this.#transport;
    this.#setStatus({ type: 'connecting', transport });

    let url: URL;
    try {
      url = await this.#credentialUrl();
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#abandonAttempt();
      this.#attemptFailed('the credential callback failed', error);
      return;
    }
    if (generation !== this.#generation) return; // disconnect() or the deadline came first

    let socket: WebSocketLike;
    try {
      socket = this.#openLink(transport, url);
    } catch (error) {
      this.#abandonAttempt();
      this.#attemptFailed(`the ${transport} connection could not be created`, error);
      return;
    }
    this.#socket = socket;
    this.#lastSocketError = undefined;
    this.#retryAfter = undefined;
    onHandshakeRefusal(socket, (refusal) => {
      if (this.#socket !== socket) return;
      this.#retryAfter = refusal.retryAfter;
      this.#lastSocketError = new Error(`Unexpected server response: ${refusal.status}${refusal.code ? ` ${refusal.code}` : ''}`);
    });
    socket.addEventListener('message', (event) => {
      if (this.#socket === socket) this.#onFrame(event.data);
    });
    socket.addEventListener('error', (event) => {
      // Browsers say nothing useful here; `ws` passes the reason (e.g. "Unexpected server response: 401"). The first
      // error is kept: after a refusal read above, ws reports the abort of the handshake as well.
      if (this.#socket === socket) this.#lastSocketError ??= (event as { error?: unknown }).error ?? event;
    });
    socket.addEventListener('close', (event) => {
      if (this.#socket === socket) this.#onClose(event.code, event.reason);
    });
  }

  get #transport(): TransportName {
    return this.#transports[this.#transportIndex]!;
  }

  #openLink(transport: TransportName, url: URL): WebSocketLike {
    if (transport === 'sse') return new EventSourceLink(streamingBase(url), this.#EventSource!);
    if (transport === 'http-stream') return new FetchStreamLink(streamingBase(url));
    return new this.#WebSocket(url.href, Subprotocol.JSON_V1);
  }

  /** An attempt on the current transport ended before `welcome`: after `fallbackAfter` in a row, the next one is tried. */
  #transportFailed(): void {
    if (++this.#transportFailures < this.#fallbackAfter || this.#transports.length < 2) return;
    this.#transportFailures = 0;
    this.#transportIndex = (this.#transportIndex + 1) % this.#transports.length;
  }

  /** While on a fallback, a WebSocket is tried now and then; one that is welcomed takes the session over. */
  #scheduleProbe(): void {
    if (this.#transport === 'websocket' || !this.#transports.includes('websocket') || this.#upgradeRetryInterval <= 0) return;
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => void this.#startProbe(), this.#upgradeRetryInterval);
  }

  #cancelProbe(): void {
    clearTimeout(this.#probeTimer);
    const probe = this.#probe;
    this.#probe = undefined;
    try {
      probe?.close(CloseCode.NORMAL, 'probe abandoned');
    } catch {
      // A probe that never opened may throw on close; it is dropped either way.
    }
  }

  async #startProbe(): Promise<void> {
    const connection = this.#connection;
    let probe: WebSocketLike;
    try {
      const url = await this.#credentialUrl();
      if (connection !== this.#connection || !this.#connected) return;
      probe = new this.#WebSocket(url.href, Subprotocol.JSON_V1);
    } catch {
      this.#scheduleProbe();
      return;
    }
    this.#probe = probe;
    const deadline = setTimeout(() => this.#cancelProbe(), this.#connectTimeout);
    probe.addEventListener('message', (event) => {
      if (this.#socket === probe) {
        this.#onFrame(event.data);
        return;
      }
      if (this.#probe !== probe) return;
      clearTimeout(deadline);
      this.#adopt(probe, event.data);
    });
    probe.addEventListener('error', (event) => {
      if (this.#socket === probe) this.#lastSocketError = (event as { error?: unknown }).error ?? event;
    });
    probe.addEventListener('close', (event) => {
      if (this.#socket === probe) this.#onClose(event.code, event.reason);
      else if (this.#probe === probe) {
        clearTimeout(deadline);
        this.#probe = undefined;
        this.#scheduleProbe();
      }
    });
  }

  /**
   * A background WebSocket was welcomed: the session moves onto it. The streaming link is closed (its session ends on
   * the gateway), and the new session restores every subscription with recovery, as after any reconnect.
   */
  #adopt(probe: WebSocketLike, welcome: unknown): void {
    const old = this.#socket;
    this.#probe = undefined;
    this.#socket = probe;
    this.#connected = false;
    this.#disconnectFrame = undefined;
    this.#connection++;
    this.#refresher.cancelAll();
    this.#requests.failSent('connection moved to a WebSocket');
    this.#transportIndex = this.#transports.indexOf('websocket');
    this.#transportFailures = 0;
    old?.close(CloseCode.NORMAL, 'moved to a WebSocket');
    this.#onFrame(welcome);
  }

  async #credentialUrl(): Promise<URL> {
    const url = new URL(this.#url);
    if (this.#getTicket) url.searchParams.set('ticket', await this.#getTicket());
    else if (this.#getToken) url.searchParams.set('token', await this.#getToken());
    return url;
  }

  #onWelcome(frame: WelcomeFrame): void {
    clearTimeout(this.#timer);
    this.#connected = true;
    this.#connection++;
    this.#attempt = 0;
    this.#transportFailures = 0;
    // Subscriptions first, then waiting requests: a publish queued while offline lands after the channel is back.
    for (const subscription of this.#subscriptions.values()) subscription.subscribe();
    this.#requests.flush((request) => this.#send(request));
    this.#setStatus({ type: 'connected', session: frame.session, user: frame.user, node: frame.node, transport: this.#transport });
    this.#scheduleProbe();
  }

  #onClose(code: number, reason: string): void {
    const frame = this.#disconnectFrame;
    const wasConnected = this.#connected;
    const socketError = this.#lastSocketError;
    this.#socket = undefined;
    this.#connected = false;
    this.#disconnectFrame = undefined;
    clearTimeout(this.#timer);
    this.#cancelProbe();
    this.#connection++;
    this.#refresher.cancelAll();
    this.#requests.failSent(`connection closed (${frame?.code ?? code})`);

    // The `disconnect` frame is the gateway's own word; the close event may say 1006 if the socket broke meanwhile.
    const closeCode = frame?.code ?? code;
    const closeReason = frame?.reason || reason || closeCodeName(closeCode) || 'connection closed';
    if (!shouldReconnect(closeCode) || frame?.reconnect === false) {
      this.#stop(closeCode, closeReason);
      return;
    }
    if (wasConnected) this.#scheduleReconnect(frame?.after);
    else {
      this.#transportFailed();
      this.#attemptFailed(`handshake failed (close ${code})`, socketError, frame?.after);
    }
  }

  /** A connection attempt ended without `welcome`: report it and try again later. */
  #attemptFailed(message: string, cause?: unknown, after?: number): void {
    this.#scheduleReconnect(after);
    this.#events.emit('error', new WsgateClientError(LocalErrorCode.CONNECT_FAILED, message, { cause }));
  }

  #scheduleReconnect(after: number | undefined): void {
    this.#attempt++;
    const jittered = backoffDelay(this.#attempt - 1, this.#backoff, this.#random);
    // A refusal's Retry-After (NODE_BUSY, DRAINING, ...) is the same for every client it refused: the jitter goes on
    // top of it, so they come back spread out rather than all at once when it ends.
    const retryAfter = this.#retryAfter ?? 0;
    this.#retryAfter = undefined;
    const delay = Math.max(jittered, after ?? 0) + retryAfter;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#dial(), delay);
    this.#setStatus({ type: 'reconnecting', attempt: this.#attempt, delay });
  }

  /** Drops the socket of the current attempt, if any, and makes its late events and callbacks no-ops. */
  #abandonAttempt(reason = 'connection attempt abandoned'): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#cancelProbe();
    const socket = this.#socket;
    this.#socket = undefined;
    this.#connected = false;
    this.#disconnectFrame = undefined;
    this.#connection++;
    this.#refresher.cancelAll();
    if (socket) {
      try {
        // 1000 is the only code a client sends: the gateway needs no more than "the client went away on purpose".
        socket.close(CloseCode.NORMAL, reason);
      } catch {
        // Closing a socket that never opened may throw in some implementations; it is being dropped either way.
      }
    }
  }

  #stop(code: number, reason: string): void {
    this.#abandonAttempt(reason);
    this.#requests.failAll(reason);
    this.#setStatus({ type: 'disconnected', code, reason });
  }

  #setStatus(status: ClientStatus): void {
    this.#status = status;
    this.#events.emit('status', status);
  }

  // ---- frames ------------------------------------------------------------------------------------------------------

  #call<Reply>(request: OutgoingRequest, expect: string, timeout = this.#requestTimeout): Promise<Reply> {
    if (this.#status.type === 'disconnected')
      return Promise.reject(
        new WsgateClientError(LocalErrorCode.DISCONNECTED, `${request.type} failed: the client is not connected`),
      );
    return this.#requests.issue<Reply>(
      request,
      expect,
      timeout,
      this.#connected ? (frame) => this.#send(frame) : undefined,
    );
  }

  #send(frame: OutgoingRequest): void {
    // Only called while the socket is open; a socket closing meanwhile drops the frame and its close fails the request.
    this.#socket?.send(JSON.stringify(frame));
  }

  #onFrame(data: unknown): void {
    let frame: { type?: unknown; id?: unknown };
    try {
      if (typeof data !== 'string') throw new TypeError('binary frame');
      frame = JSON.parse(data) as typeof frame;
      if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') throw new TypeError('no type');
    } catch (error) {
      this.#events.emit(
        'error',
        new WsgateClientError(LocalErrorCode.UNREADABLE_FRAME, 'the gateway sent an unreadable frame', { cause: error }),
      );
      return;
    }
    this.#dispatch(frame as { type: string; id?: string | number });
  }

  #dispatch(frame: { type: string; id?: string | number }): void {
    switch (frame.type) {
      case 'welcome':
        if (!this.#connected) this.#onWelcome(frame as WelcomeFrame);
        return;
      case 'disconnect':
        this.#disconnectFrame = frame as DisconnectFrame;
        return;
      case 'refresh_required':
        this.#refresher.onRefreshRequired(frame as RefreshRequiredFrame);
        return;
      case 'message':
      case 'join':
      case 'leave':
      case 'lost': {
        const channelFrame = frame as MessageFrame | JoinFrame | LeaveFrame | LostFrame;
        this.#subscriptions.get(channelFrame.channel)?.handle(channelFrame);
        return;
      }
      case 'subscribed':
        if (frame.id === undefined) this.#onServerSubscribed(frame as SubscribedFrame);
        else this.#requests.settle(frame);
        return;
      case 'unsubscribed':
        if (frame.id === undefined) {
          const removed = frame as UnsubscribedFrame;
          this.#subscriptions.get(removed.channel)?.handle(removed);
        } else this.#requests.settle(frame);
        return;
      case 'direct': {
        const { from, to, data } = frame as DirectFrame;
        this.#events.emit('direct', { from, to, data });
        return;
      }
      case 'error':
        if (frame.id === undefined) {
          const { code, message } = frame as ErrorFrame;
          this.#events.emit('error', new WsgateClientError(code, message));
        } else this.#requests.settle(frame);
        return;
      default:
        if (isReservedType(frame.type)) {
          this.#requests.settle(frame); // late replies (after a timeout) find nothing and are dropped
          return;
        }
        this.#onAction({ type: frame.type, payload: (frame as { payload?: unknown }).payload });
    }
  }

  #onServerSubscribed(frame: SubscribedFrame): void {
    if (this.#subscriptions.has(frame.channel)) return; // already ours; the gateway keeps one subscription per channel
    const subscription = new Subscription(frame.channel, this.#host);
    this.#subscriptions.set(frame.channel, subscription as Subscription<never>);
    subscription.adopt(frame);
    this.#events.emit('subscription', subscription);
  }

  #onAction(action: PushedAction): void {
    this.#actions.emit(action.type, action.payload, action);
    this.#events.emit('action', action);
  }
}

/** The transports of `requested` (default: all in a browser, else WebSocket only) whose API this environment has. */
function usableTransports(requested: readonly TransportName[] | undefined, EventSourceImpl: typeof EventSource | undefined): TransportName[] {
  const inBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';
  const wanted = requested ?? (inBrowser ? ['websocket', 'sse', 'http-stream'] : ['websocket']);
  const canStream = typeof fetch === 'function' && typeof TextDecoderStream === 'function';
  const usable = wanted.filter((name) => {
    if (name === 'sse') return EventSourceImpl !== undefined && typeof fetch === 'function';
    return name === 'http-stream' ? canStream : true;
  });
  if (usable.length === 0) throw new TypeError(`wsgate client: none of the transports ${wanted.join(', ')} is available here`);
  return [...new Set(usable)];
}

/** Stands in where no transport needs a WebSocket. */
const NoWebSocket = class {
  constructor() {
    throw new TypeError('wsgate client: no WebSocket transport is configured');
  }
} as unknown as WebSocketConstructor;
