import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { WsgateError, type ErrorCode } from '../../protocol/errors.js';
import { DEFAULT_SUBPROTOCOL, SUPPORTED_SUBPROTOCOLS, type SubprotocolName } from '../../protocol/subprotocol.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Identity } from '../auth/identity.js';
import type { OriginPolicy } from '../auth/origin-policy.js';
import type { Config } from '../config/schema.js';
import { classifyFailure } from '../engine/failure.js';
import type { ClientInfo } from '../engine/registry/registry.js';
import { ConnectRateLimiter } from '../limits/connect-rate-limiter.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { writeErrorResponse } from './error-response.js';
import { parseRequestTarget } from './request-target.js';

export interface AcceptedConnection {
  ws: WebSocket;
  socket: Socket;
  identity: Identity;
  protocol: SubprotocolName;
  client: ClientInfo;
}

export interface HandshakeGate {
  /** Null when the node accepts sessions; otherwise the error to refuse with. */
  refusal(): ErrorCode | null;
  /** False while the shared store is unreachable: a failed authentication is then ENGINE_UNAVAILABLE. */
  engineHealthy(): boolean;
}

/**
 * The WebSocket handshake: path, admission (draining, node full), connection rate per IP, Origin, subprotocol, and
 * finally authentication — in that order, so a refused handshake never consumes a ticket.
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
      const failure = classifyFailure(error, this.gate.engineHealthy());
      if (failure.code === 'INTERNAL') this.logger.error({ err: error }, 'handshake failed');
      this.refuse(socket, failure);
    });
  };

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = parseRequestTarget(req.url);
    if (url.pathname !== this.config.ws.path) throw new WsgateError('NOT_FOUND');
    const refusal = this.gate.refusal();
    if (refusal) throw new WsgateError(refusal);
    const ip = socket.remoteAddress ?? 'unknown';
    if (this.connectLimiter && !this.connectLimiter.allow(ip)) throw new WsgateError('CONNECTION_RATE_LIMITED');
    const origin = req.headers.origin;
    if (!this.origins.allows(origin)) throw new WsgateError('ORIGIN_FORBIDDEN', `origin ${origin} is not allowed`);
    const protocol = offeredProtocol(req.headers['sec-websocket-protocol']);
    if (!protocol) throw new WsgateError('SUBPROTOCOL_UNSUPPORTED', `supported subprotocols: ${SUPPORTED_SUBPROTOCOLS.join(', ')}`);

    const identity = await this.authenticator.authenticate(req, url.searchParams);
    if (socket.destroyed) return;
    const client: ClientInfo = { ip, userAgent: req.headers['user-agent']?.slice(0, 256), origin };
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // From here ws handles the socket's errors (and re-emits them on the WebSocket).
      socket.off('error', this.onSocketError);
      this.onAccepted({ ws, socket, identity, protocol, client });
    });
  }

  private refuse(socket: Duplex, error: WsgateError): void {
    this.metrics.handshakeFailures.inc({ reason: error.code });
    writeErrorResponse(socket, error);
  }

  close(): void {
    this.wss.close();
  }
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
