import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode } from '../../protocol/close-codes.js';
import { ErrorCatalogue, WsgateError, type ErrorCode } from '../../protocol/errors.js';
import { DEFAULT_SUBPROTOCOL, PUSHER_PROTOCOL, SUPPORTED_SUBPROTOCOLS, type ProtocolName, type SubprotocolName } from '../../protocol/subprotocol.js';
import type { Authenticator } from '../auth/authenticator.js';
import { NO_CLAIMS, type Identity } from '../auth/identity.js';
import type { OriginPolicy } from '../auth/origin-policy.js';
import type { Config } from '../config/schema.js';
import { classifyFailure } from '../engine/failure.js';
import type { ClientInfo } from '../engine/registry/registry.js';
import { ConnectRateLimiter } from '../limits/connect-rate-limiter.js';
import { ConnectionsPerAddress } from '../limits/connections-per-address.js';
import { HandshakeAdmission, type HandshakeSlot } from '../limits/handshake-admission.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { endSpan, SpanKind, SpanName, startSpan, withSpan, type Span } from '../observability/tracing.js';
import { codecFor } from '../codec/codecs.js';
import { PUSHER_CLOSE } from '../codec/pusher-v7/close-codes.js';
import { pusherError } from '../codec/pusher-v7/codec.js';
import { PusherApps } from '../pusher/apps.js';
import type { ClientAddresses } from './client-address.js';
import { errorResponse, writeErrorResponse } from './error-response.js';
import { parseRequestTarget, type RequestTarget } from './request-target.js';
import { closeReason } from './websocket-transport.js';

export interface AcceptedConnection {
  ws: WebSocket;
  socket: Socket;
  identity: Identity;
  protocol: ProtocolName;
  client: ClientInfo;
  /** Channels the session joins at once (the connect hook's answer). */
  channels?: string[];
  /** The handshake's place under `limits.maxHandshakes`: released once the session is welcomed or refused. */
  slot: HandshakeSlot;
  /**
   * The socket is corked with the 101 response in it: the session's first write uncorks it, so the 101 and the
   * `welcome` leave in one write.
   */
  corked: boolean;
}

/** A streaming transport's opening request that passed admission and authentication. */
export interface AcceptedStream {
  identity: Identity;
  client: ClientInfo;
  /** Channels the session joins at once (the connect hook's answer). */
  channels?: string[];
  /** The handshake's place under `limits.maxHandshakes`: released once the session is welcomed or refused. */
  slot: HandshakeSlot;
}

export interface HandshakeGate {
  /** Null when the node accepts sessions; otherwise the error to refuse with. */
  refusal(): ErrorCode | null;
  /** False while the shared store is unreachable: a failed authentication is then ENGINE_UNAVAILABLE. */
  engineHealthy(): boolean;
}

/**
 * The WebSocket handshake: path, admission (draining, node full), connection rate and open connections per client
 * address (the real one, behind trusted proxies), Origin, subprotocol, the request's WebSocket headers, a place among
 * the node's handshakes in progress (`limits.maxHandshakes`), and finally authentication — which runs inside ws's own client verification, after ws has checked everything it checks. So a
 * refused handshake, whatever it is refused for, never consumes a ticket. A handshake the connect hook decides is
 * upgraded first and asked about afterwards, so its refusal reaches the client as a close code with a reason (4503
 * refused, 1013 backend unavailable) — which browsers can read, unlike an HTTP status.
 */
export class HandshakeHandler {
  private readonly wss: WebSocketServer;
  private readonly connectLimiter: ConnectRateLimiter | null;
  private readonly perAddress: ConnectionsPerAddress | null;
  /** Handshakes in progress, bounded by `limits.maxHandshakes` and aged out after `limits.handshakeTimeoutMs`. */
  readonly admission: HandshakeAdmission;
  private readonly pusherApps: PusherApps;
  /** What the checks before authentication found, for ws's verification step and the accepted connection. */
  private readonly pending = new WeakMap<IncomingMessage, PendingHandshake>();

  constructor(
    private readonly config: Readonly<Config>,
    private readonly origins: OriginPolicy,
    private readonly authenticator: Authenticator,
    private readonly gate: HandshakeGate,
    private readonly onAccepted: (connection: AcceptedConnection) => void,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly addresses: ClientAddresses,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: config.ws.maxPayload,
      maxFragments: config.ws.maxFragments,
      maxBufferedChunks: config.ws.maxBufferedChunks,
      perMessageDeflate: config.ws.perMessageDeflate,
      handleProtocols: (offered) => selectProtocol(offered) ?? false,
      verifyClient: (info, done) => this.authenticate(info.req, done),
    } as ConstructorParameters<typeof WebSocketServer>[0]);
    this.connectLimiter = config.limits.connectRate > 0 ? new ConnectRateLimiter(config.limits.connectRate, config.limits.connectBurst) : null;
    this.perAddress = config.limits.maxConnectionsPerIp > 0 ? new ConnectionsPerAddress(config.limits.maxConnectionsPerIp) : null;
    this.pusherApps = new PusherApps(config.pusher.apps);
    this.admission = new HandshakeAdmission(config.limits.maxHandshakes, config.limits.handshakeTimeoutMs);
    metrics.observeHandshakes(() => this.admission.inProgress);
  }

  /** Shared by every socket, so a connection does not keep a closure of its own for it. */
  private readonly onSocketError = (error: Error): void => this.logger.debug({ err: error }, 'socket error');

  /** The HTTP server's `upgrade` listener. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', this.onSocketError);
    const span = startSpan(SpanName.handshake, SpanKind.SERVER);
    let pending: PendingHandshake;
    try {
      pending = this.admit(req, socket as Socket, span);
    } catch (error) {
      this.refuse(socket, this.failure(error, req), span);
      return;
    }
    // The bound comes after the checks that cost nothing and before anything that does (ticket, registry, upgrade).
    const slot = this.admission.enter(socket as Socket);
    if (!slot) {
      this.refuse(socket, new WsgateError('NODE_BUSY'), span);
      return;
    }
    // A client that gives up mid-handshake frees the place with its socket's close; ws then drops the upgrade.
    pending.slot = slot;
    this.pending.set(req, pending);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // From here ws handles the socket's errors (and re-emits them on the WebSocket).
      socket.off('error', this.onSocketError);
      const { identity, protocol, client, hook, pusherRefusal } = this.pending.get(req)!;
      this.pending.delete(req);
      if (pusherRefusal) {
        slot.release();
        this.refusePusher(ws, pusherRefusal, span);
      } else if (hook && protocol !== PUSHER_PROTOCOL) void this.admitThroughHook(req, ws, socket as Socket, protocol, client, span, slot);
      else {
        span.setAttribute('wsgate.auth.method', identity!.method);
        endSpan(span);
        this.onAccepted({ ws, socket: socket as Socket, identity: identity!, protocol, client, slot, corked: true });
      }
    });
  };

  /**
   * Every check of a WebSocket handshake that needs no credential, cheapest first. Throws the refusal; a Pusher
   * connection (`/app/{key}`) is refused after the upgrade instead, with the close code pusher-js acts on.
   */
  private admit(req: IncomingMessage, socket: Socket, span: Span): PendingHandshake {
    const target = parseRequestTarget(req.url);
    const pusherKey = this.pusherApps.size > 0 ? pusherAppKey(target.pathname) : null;
    const path = pusherKey === null ? this.config.ws.path : target.pathname;
    const { query, client, refusal } = this.admitRequest(req, socket, { path, deferRefusal: pusherKey !== null, target });
    assertWebSocketRequest(req);
    if (pusherKey !== null) return this.admitPusher(pusherKey, query, refusal, client, span);
    const protocol = offeredProtocol(req.headers['sec-websocket-protocol']);
    if (!protocol) throw new WsgateError('SUBPROTOCOL_UNSUPPORTED', `supported subprotocols: ${SUPPORTED_SUBPROTOCOLS.join(', ')}`);
    span.setAttribute('wsgate.subprotocol', protocol);
    return { query, protocol, client, span };
  }

  /**
   * The admission every transport's opening request passes: path, the node's refusal (draining, full), connection
   * rate and open connections per client address, Origin. `closes` emits `close` once when the connection ends (the
   * TCP socket of a WebSocket, the response of a stream), releasing its place in the per-address count. With
   * `deferRefusal` the node's refusal is returned rather than thrown (a Pusher connection is told after the upgrade).
   * `target` is the request's target when the caller has parsed it already.
   */
  private admitRequest(
    req: IncomingMessage, closes: NodeJS.EventEmitter, admission: { path: string; deferRefusal?: boolean; target?: RequestTarget },
  ): { query: URLSearchParams; client: ClientInfo; refusal: ErrorCode | null } {
    const url = admission.target ?? parseRequestTarget(req.url);
    if (url.pathname !== admission.path) throw new WsgateError('NOT_FOUND');
    const refusal = this.gate.refusal();
    if (refusal && !admission.deferRefusal) throw new WsgateError(refusal);
    const ip = this.addresses.ofRequest(req);
    if (this.connectLimiter && !this.connectLimiter.allow(ip)) throw new WsgateError('CONNECTION_RATE_LIMITED');
    if (this.perAddress) {
      if (!this.perAddress.acquire(ip)) throw new WsgateError('CONNECTION_LIMIT', `${this.perAddress.max} connections from this address are open`);
      // Refused, dropped or closed after a long session: the connection closes exactly once.
      const perAddress = this.perAddress;
      closes.once('close', () => perAddress.release(ip));
    }
    const origin = req.headers.origin;
    if (!this.origins.allows(origin)) throw new WsgateError('ORIGIN_FORBIDDEN', `origin ${origin} is not allowed`);
    return { query: url.searchParams, client: { ip, userAgent: req.headers['user-agent']?.slice(0, 256), origin }, refusal };
  }

  /**
   * The opening request of a streaming transport (`GET /sse`, `POST /stream`): the same admission and authentication
   * as a WebSocket handshake — ticket, bearer or `?token=`, cookie, or the connect hook — answered with the
   * catalogue's HTTP error when refused (null is returned then, the response already sent).
   */
  async admitStream(req: IncomingMessage, res: ServerResponse, path: string): Promise<AcceptedStream | null> {
    const span = startSpan(SpanName.handshake, SpanKind.SERVER);
    let slot: HandshakeSlot | null = null;
    try {
      const { query, client } = this.admitRequest(req, res, { path });
      slot = this.admission.enter(res);
      if (!slot) throw new WsgateError('NODE_BUSY');
      if (this.authenticator.usesConnectHook(req, query)) {
        span.setAttribute('wsgate.auth.method', 'hook');
        const { identity, channels } = await withSpan(span, () => this.authenticator.admitThroughHook(req, client.ip ?? 'unknown'));
        endSpan(span);
        return { identity, client, channels, slot };
      }
      const identity = await this.authenticator.authenticate(req, query);
      span.setAttribute('wsgate.auth.method', identity.method);
      endSpan(span);
      return { identity, client, slot };
    } catch (error) {
      slot?.release();
      const failure = this.failure(error, req);
      this.metrics.handshakeFailures.inc({ reason: failure.code });
      endSpan(span, failure);
      const response = errorResponse(failure, refusalHeaders(failure));
      if (!res.headersSent) res.writeHead(response.status, response.headers).end(response.body);
      return null;
    }
  }

  /**
   * A Pusher connection (`/app/{key}?protocol=7`): anonymous until it signs in, and belonging to the app of its key.
   * Pusher tells a client it cannot serve through its close codes, so an unknown key, an old protocol and a node that
   * drains or is full are refused after the upgrade, with the close code pusher-js acts on (4001, 4007, 4100).
   */
  private admitPusher(key: string, query: URLSearchParams, refusal: ErrorCode | null, client: ClientInfo, span: Span): PendingHandshake {
    span.setAttribute('wsgate.subprotocol', PUSHER_PROTOCOL);
    const app = this.pusherApps.withKey(key);
    const version = Number(query.get('protocol') ?? Number.NaN);
    const pending: PendingHandshake = { query, protocol: PUSHER_PROTOCOL, client, span };
    if (!app) pending.pusherRefusal = { code: PUSHER_CLOSE.APP_NOT_FOUND, reason: `no app has the key ${key}` };
    else if (!Number.isInteger(version)) pending.pusherRefusal = { code: PUSHER_CLOSE.INVALID_VERSION, reason: 'the protocol parameter is missing' };
    else if (version < 7) pending.pusherRefusal = { code: PUSHER_CLOSE.UNSUPPORTED_PROTOCOL, reason: `protocol ${version} is not supported; use 7` };
    // A node that drains or is full sends new connections away to back off, not to come straight back (4200 would).
    else if (refusal) pending.pusherRefusal = { code: PUSHER_CLOSE.OVER_CAPACITY, reason: new WsgateError(refusal).message };
    else pending.identity = { user: null, claims: NO_CLAIMS, method: 'pusher', pusherApp: app.id };
    return pending;
  }

  private refusePusher(ws: WebSocket, refusal: { code: number; reason: string }, span: Span): void {
    this.metrics.handshakeFailures.inc({ reason: `pusher-${refusal.code}` });
    endSpan(span);
    ws.on('error', this.onSocketError);
    ws.send(pusherError(refusal.code, refusal.reason).payload, { binary: false });
    ws.close(refusal.code, closeReason(refusal.reason));
    setTimeout(() => ws.terminate(), 2_000).unref();
  }

  /** ws's verification step: the credential is checked (a ticket taken) only once ws would accept the request. */
  private authenticate(req: IncomingMessage, done: (accept: boolean, status?: number, body?: string, headers?: Record<string, string>) => void): void {
    const pending = this.pending.get(req);
    if (!pending) {
      done(false, 500);
      return;
    }
    // A Pusher connection: admitted by its app key (or refused after the upgrade); it signs in later, if at all.
    if (pending.protocol === PUSHER_PROTOCOL) {
      if (pending.identity) upgradeCorked(req, done);
      else done(true);
      return;
    }
    if (this.authenticator.usesConnectHook(req, pending.query)) {
      pending.hook = true;
      done(true);
      return;
    }
    this.authenticator.authenticate(req, pending.query).then(
      (identity) => {
        pending.identity = identity;
        upgradeCorked(req, done);
      },
      (error: unknown) => {
        this.pending.delete(req);
        pending.slot?.release();
        const failure = this.failure(error, req);
        this.metrics.handshakeFailures.inc({ reason: failure.code });
        endSpan(pending.span, failure);
        const response = errorResponse(failure, refusalHeaders(failure));
        done(false, response.status, response.body, response.headers);
      },
    );
  }

  private failure(error: unknown, req: IncomingMessage): WsgateError {
    const failure = classifyFailure(error, this.gate.engineHealthy());
    if (failure.code === 'INTERNAL') this.logger.error({ err: error, ip: this.addresses.ofRequest(req) }, 'handshake failed');
    return failure;
  }

  /** Holds the open socket's frames back while the connect hook decides, then admits or closes with the reason. */
  private async admitThroughHook(
    req: IncomingMessage, ws: WebSocket, socket: Socket, protocol: SubprotocolName, client: ClientInfo, span: Span, slot: HandshakeSlot,
  ): Promise<void> {
    socket.pause();
    ws.on('error', this.onSocketError);
    span.setAttribute('wsgate.auth.method', 'hook');
    try {
      const { identity, channels } = await withSpan(span, () => this.authenticator.admitThroughHook(req, client.ip ?? 'unknown'));
      endSpan(span);
      ws.off('error', this.onSocketError);
      socket.resume();
      if (ws.readyState !== ws.OPEN) return;
      this.onAccepted({ ws, socket, identity, protocol, client, channels, slot, corked: false });
    } catch (error) {
      slot.release();
      const failure = this.failure(error, req);
      this.metrics.handshakeFailures.inc({ reason: failure.code });
      endSpan(span, failure);
      socket.resume();
      if (ws.readyState !== ws.OPEN) return;
      const code = closeCodeOf(failure);
      ws.send(codecFor(protocol).encodeDisconnect({ code, reason: failure.message }).payload, { binary: false });
      ws.close(code, closeReason(failure.message));
      setTimeout(() => ws.terminate(), 2_000).unref();
    }
  }

  private refuse(socket: Duplex, error: WsgateError, span: Span): void {
    this.metrics.handshakeFailures.inc({ reason: error.code });
    endSpan(span, error);
    writeErrorResponse(socket, error, refusalHeaders(error));
  }

  close(): void {
    this.wss.close();
  }
}

interface PendingHandshake {
  query: URLSearchParams;
  protocol: ProtocolName;
  client: ClientInfo;
  /** The handshake's span, ended when it is accepted or refused. */
  span: Span;
  /** Its place under `limits.maxHandshakes`, taken once the checks before authentication passed. */
  slot?: HandshakeSlot;
  identity?: Identity;
  /** Set when the connect hook decides, once the socket is open. */
  hook?: boolean;
  /** A Pusher connection to refuse once upgraded, with Pusher's close code. */
  pusherRefusal?: { code: number; reason: string };
}

/**
 * Lets ws complete an accepted upgrade (it writes the 101 at once) with the socket corked, so the 101 waits for the
 * session's first frames (the `welcome`) and both leave in one write: one system call fewer per connect. The session's
 * transport uncorks it. Only for a connection accepted as it upgrades: a refused one (ws ends the socket, which
 * uncorks it) or a destroyed one writes nothing more; the connect hook's and a refused Pusher connection's 101 go out
 * at once, since what follows them waits for the hook or is a close.
 */
function upgradeCorked(req: IncomingMessage, done: (accept: boolean) => void): void {
  // The upgrade's socket is the request's.
  req.socket.cork();
  done(true);
}

/** Pusher clients connect to `/app/{key}`. */
const PUSHER_PATH = /^\/app\/([^/]+)$/;

/** The app key of a Pusher connection's path; null for any other path. */
function pusherAppKey(pathname: string): string | null {
  const match = PUSHER_PATH.exec(pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1]!;
  }
}

/** The close code an error ends an open socket with: the catalogue's, else by kind (unavailable: try again later). */
function closeCodeOf(error: WsgateError): number {
  const close = (ErrorCatalogue[error.code] as { close?: number }).close;
  if (close !== undefined) return close;
  return error.status >= 500 ? CloseCode.TRY_AGAIN_LATER : CloseCode.UNAUTHORIZED;
}

const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * The request is a WebSocket opening handshake (RFC 6455 4.2.1) as ws will check it: answered here, from the catalogue,
 * rather than by ws in its own words.
 */
function assertWebSocketRequest(req: IncomingMessage): void {
  if (req.method !== 'GET') throw new WsgateError('METHOD_NOT_ALLOWED', 'a WebSocket handshake is a GET request');
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') throw new WsgateError('HANDSHAKE_INVALID', 'Upgrade must be websocket');
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !WEBSOCKET_KEY.test(key)) throw new WsgateError('HANDSHAKE_INVALID', 'Sec-WebSocket-Key is missing or not 16 bytes in base64');
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') throw new WsgateError('HANDSHAKE_INVALID', 'Sec-WebSocket-Version must be 13');
}

/**
 * How long a client refused with NODE_BUSY is asked to wait. Short, because the node frees places in milliseconds, and
 * the SDK adds its jittered backoff on top, which spreads a storm's refused clients instead of bringing them back
 * together.
 */
export const NODE_BUSY_RETRY_AFTER_SECONDS = 1;

/** Headers that tell the client how to fix the request. */
function refusalHeaders(error: WsgateError): Record<string, string> {
  if (error.code === 'METHOD_NOT_ALLOWED') return { Allow: 'GET' };
  if (error.code === 'HANDSHAKE_INVALID') return { 'Sec-WebSocket-Version': '13' };
  if (error.code === 'NODE_BUSY') return { 'Retry-After': String(NODE_BUSY_RETRY_AFTER_SECONDS) };
  return {};
}

/** A token as RFC 7230 defines it: what a subprotocol name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The protocol a `Sec-WebSocket-Protocol` header asks for: v1 JSON when none is offered, null when none is known.
 * A list that is not a list of distinct tokens is refused (as ws would).
 */
export function offeredProtocol(header: string | undefined): SubprotocolName | null {
  if (header === undefined) return DEFAULT_SUBPROTOCOL;
  // The common case, one supported name as it is: nothing to split or check.
  if ((SUPPORTED_SUBPROTOCOLS as readonly string[]).includes(header)) return header as SubprotocolName;
  if (header.trim() === '') return DEFAULT_SUBPROTOCOL;
  const names = header.split(',').map((name) => name.trim());
  if (names.some((name) => !TOKEN.test(name)) || new Set(names).size !== names.length) {
    throw new WsgateError('HANDSHAKE_INVALID', 'Sec-WebSocket-Protocol is not a list of distinct protocol names');
  }
  return selectProtocol(new Set(names));
}

/** The client's first offer that is supported, as our own constant: ws keeps the returned name for the connection's
 * lifetime, and the offered one is a piece of the upgrade request's header. */
function selectProtocol(offered: Set<string>): SubprotocolName | null {
  for (const name of offered) {
    const known = SUPPORTED_SUBPROTOCOLS.find((supported) => supported === name);
    if (known) return known;
  }
  return null;
}
