import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, shouldReconnect } from '../../protocol/close-codes.js';
import { ErrorCatalogue, WsgateError, type ErrorCode } from '../../protocol/errors.js';
import { DEFAULT_SUBPROTOCOL, SUPPORTED_SUBPROTOCOLS, type SubprotocolName } from '../../protocol/subprotocol.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Identity } from '../auth/identity.js';
import type { OriginPolicy } from '../auth/origin-policy.js';
import type { Config } from '../config/schema.js';
import type { ClientInfo } from '../engine/registry/registry.js';
import { ConnectRateLimiter } from '../limits/connect-rate-limiter.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { closeReason, disconnectFrame } from '../session/server-frames.js';

export interface AcceptedConnection {
  ws: WebSocket;
  socket: Socket;
  identity: Identity;
  protocol: SubprotocolName;
  client: ClientInfo;
  /** Channels the session joins at once (the connect hook's answer). */
  channels?: string[];
}

export interface HandshakeGate {
  /** Null when the node accepts sessions; otherwise the error to refuse with. */
  refusal(): ErrorCode | null;
}

/**
 * The WebSocket handshake: path, admission (draining, node full), connection rate per IP, Origin, subprotocol, and
 * finally authentication — in that order, so a refused handshake never consumes a ticket. A handshake the connect
 * hook decides is upgraded first and asked about afterwards, so its refusal reaches the client as a close code with
 * a reason (4503 refused, 1013 backend unavailable) — which browsers can read, unlike an HTTP status.
 */
export class HandshakeHandler {
  private readonly wss: WebSocketServer;
  private readonly connectLimiter: ConnectRateLimiter | null;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly origins: OriginPolicy,
    private readonly authenticator: Authenticator,
    private readonly gate: HandshakeGate,
    private readonly onAccepted: (connection: AcceptedConnection) => void,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: config.ws.maxPayload,
      maxFragments: config.ws.maxFragments,
      maxBufferedChunks: config.ws.maxBufferedChunks,
      perMessageDeflate: config.ws.perMessageDeflate,
      handleProtocols: (offered) => selectProtocol(offered) ?? false,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
    this.connectLimiter = config.limits.connectRate > 0 ? new ConnectRateLimiter(config.limits.connectRate, config.limits.connectBurst) : null;
  }

  /** Shared by every socket, so a connection does not keep a closure of its own for it. */
  private readonly onSocketError = (error: Error): void => this.logger.debug({ err: error }, 'socket error');

  /** The HTTP server's `upgrade` listener. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', this.onSocketError);
    this.upgrade(req, socket as Socket, head).catch((error: unknown) => {
      const wsgateError = error instanceof WsgateError ? error : new WsgateError('INTERNAL', undefined, { cause: error });
      if (!(error instanceof WsgateError)) this.logger.error({ err: error }, 'handshake failed');
      this.refuse(socket, wsgateError);
    });
  };

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== this.config.ws.path) throw new WsgateError('NOT_FOUND');
    const refusal = this.gate.refusal();
    if (refusal) throw new WsgateError(refusal);
    const ip = socket.remoteAddress ?? 'unknown';
    if (this.connectLimiter && !this.connectLimiter.allow(ip)) throw new WsgateError('CONNECTION_RATE_LIMITED');
    const origin = req.headers.origin;
    if (!this.origins.allows(origin)) throw new WsgateError('ORIGIN_FORBIDDEN', `origin ${origin} is not allowed`);
    const protocol = offeredProtocol(req.headers['sec-websocket-protocol']);
    if (!protocol) throw new WsgateError('SUBPROTOCOL_UNSUPPORTED', `supported subprotocols: ${SUPPORTED_SUBPROTOCOLS.join(', ')}`);

    const client: ClientInfo = { ip, userAgent: req.headers['user-agent']?.slice(0, 256), origin };
    if (this.authenticator.usesConnectHook(req, url.searchParams)) {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        socket.off('error', this.onSocketError);
        void this.admitThroughHook(req, ws, socket, protocol, client);
      });
      return;
    }
    const identity = await this.authenticator.authenticate(req, url.searchParams);
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // From here ws handles the socket's errors (and re-emits them on the WebSocket).
      socket.off('error', this.onSocketError);
      this.onAccepted({ ws, socket, identity, protocol, client });
    });
  }

  /** Holds the open socket's frames back while the connect hook decides, then admits or closes with the reason. */
  private async admitThroughHook(req: IncomingMessage, ws: WebSocket, socket: Socket, protocol: SubprotocolName, client: ClientInfo): Promise<void> {
    socket.pause();
    ws.on('error', this.onSocketError);
    try {
      const { identity, channels } = await this.authenticator.admitThroughHook(req, client.ip ?? 'unknown');
      ws.off('error', this.onSocketError);
      socket.resume();
      if (ws.readyState !== ws.OPEN) return;
      this.onAccepted({ ws, socket, identity, protocol, client, channels });
    } catch (error) {
      const wsgateError = error instanceof WsgateError ? error : new WsgateError('INTERNAL', undefined, { cause: error });
      if (!(error instanceof WsgateError)) this.logger.error({ err: error }, 'connect hook failed');
      this.metrics.handshakeFailures.inc({ reason: wsgateError.code });
      socket.resume();
      if (ws.readyState !== ws.OPEN) return;
      const code = closeCodeOf(wsgateError);
      ws.send(JSON.stringify(disconnectFrame(code, wsgateError.message, shouldReconnect(code))));
      ws.close(code, closeReason(wsgateError.message));
      setTimeout(() => ws.terminate(), 2_000).unref();
    }
  }

  private refuse(socket: Duplex, error: WsgateError): void {
    this.metrics.handshakeFailures.inc({ reason: error.code });
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status = ErrorCatalogue[error.code].status;
    const body = JSON.stringify({ code: error.code, message: error.message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'Connection: close\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Wsgate-Error: ${error.code}\r\n` +
        (error.status === 503 ? 'Retry-After: 5\r\n' : '') +
        `\r\n${body}`,
    );
  }

  close(): void {
    this.wss.close();
  }
}

/** The close code an error ends an open socket with: the catalogue's, else by kind (unavailable: try again later). */
function closeCodeOf(error: WsgateError): number {
  const close = (ErrorCatalogue[error.code] as { close?: number }).close;
  if (close !== undefined) return close;
  return error.status >= 500 ? CloseCode.TRY_AGAIN_LATER : CloseCode.UNAUTHORIZED;
}

/** The protocol a `Sec-WebSocket-Protocol` header asks for: v1 JSON when none is offered, null when none is known. */
export function offeredProtocol(header: string | undefined): SubprotocolName | null {
  if (header === undefined || header.trim() === '') return DEFAULT_SUBPROTOCOL;
  return selectProtocol(new Set(header.split(',').map((name) => name.trim())));
}

function selectProtocol(offered: Set<string>): SubprotocolName | null {
  for (const name of offered) if ((SUPPORTED_SUBPROTOCOLS as readonly string[]).includes(name)) return name as SubprotocolName;
  return null;
}
