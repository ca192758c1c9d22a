/**
 * Folder transport/: what carries sessions — the HTTP upgrade (handshake.ts: origin, authentication, limits,
 * subprotocol), client addresses behind proxies (PROXY protocol, forwarded headers), TLS files, and the WebSocket
 * implementation of `SessionTransport` with the node's one set of socket listeners (this file); the streaming
 * transports (SSE, JSON lines) are the other implementation, in http-stream-transport.ts. transport/ imports session/, codec/, auth/, limits/,
 * observability/ and protocol/; the node wires it, nothing below imports it.
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import type { FrameBatches, PreparedFrame } from '../codec/prepared-frame.js';
import type { Logger } from '../observability/logger.js';
import type { Session } from '../session/session.js';
import type { SessionTransport } from '../session/session-transport.js';

/** Queued bytes up to which a write copies the frames into one buffer for one write; larger batches use writev. */
const COALESCE_COPY_BYTES = 64 * 1024;

/** The most a close frame's reason may hold (125 bytes of payload, 2 of them the code). */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A session's connection over a WebSocket. Without per-message compression (`rawWrites`) prepared frames go straight
 * to the TCP socket as they are: one write per flush, copied into one buffer when small, corked otherwise; with it,
 * each frame's payload goes through ws, which compresses it.
 */
export class WebSocketTransport implements SessionTransport {
  readonly name = 'websocket' as const;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    private readonly rawWrites: boolean,
    /** The node's shared batches: sessions flushing the same frames in one turn write one buffer. */
    private readonly batches: FrameBatches,
    /** The handshake left the socket corked with the 101 in it; the first write (or the close) uncorks it. */
    private corked = false,
  ) {}

  get writable(): boolean {
    return !this.socket.destroyed && this.ws.readyState === this.ws.OPEN;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get bufferedAmount(): number {
    // With per-message deflate, ws compresses off the socket: its bufferedAmount counts what waits there too.
    return this.rawWrites ? this.socket.writableLength : this.ws.bufferedAmount;
  }

  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  write(queue: readonly PreparedFrame[], bytes: number, done?: () => void): void {
    this.writeFrames(queue, bytes, done);
    if (this.corked) this.uncork();
  }

  private writeFrames(queue: readonly PreparedFrame[], bytes: number, done?: () => void): void {
    if (this.rawWrites) {
      if (queue.length === 1) {
        this.socket.write(queue[0]!.wire, done);
        return;
      }
      if (bytes <= COALESCE_COPY_BYTES) {
        // Small frames: one buffer written is cheaper than the stream's cork/writev path (a chunk list, a write
        // request and an iovec per frame), and the sessions of a burst share it.
        this.socket.write(this.batches.concat(queue, bytes), done);
        return;
      }
      this.socket.cork();
      const last = queue.length - 1;
      for (let i = 0; i < last; i++) this.socket.write(queue[i]!.wire);
      this.socket.write(queue[last]!.wire, done);
      this.socket.uncork();
    } else {
      const last = queue.length - 1;
      for (let i = 0; i < last; i++) this.ws.send(queue[i]!.payload, { binary: false });
      this.ws.send(queue[last]!.payload, { binary: false }, done);
    }
  }

  onceDrained(listener: () => void): void {
    this.socket.once('drain', listener);
  }

  /** Releases the handshake's cork: the 101 and whatever was written since leave in one write. */
  private uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  close(code: number, reason: string): void {
    if (this.corked) this.uncork();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, closeReason(reason));
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }
}

/** A close reason fits the 123 bytes a close frame allows, cut on a character boundary. */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = reason.slice(0, MAX_CLOSE_REASON_BYTES);
  while (Buffer.byteLength(cut) > MAX_CLOSE_REASON_BYTES) cut = cut.slice(0, -1);
  return cut;
}

/** What the node does with the frames a session's connection receives. */
export interface InboundFrames {
  handleText(session: Session, text: string): unknown;
  handleBinary(session: Session): void;
}

const SESSION = Symbol('wsgate.session');
type SessionSocket = WebSocket & { [SESSION]: Session };

function sessionOf(ws: WebSocket): Session {
  return (ws as SessionSocket)[SESSION];
}

/**
 * The node's WebSocket listeners: one set for every socket (the session rides on the socket), since a closure per
 * listener per connection is memory that idle connections would carry for nothing.
 */
export class WebSocketListeners {
  /** WebSockets not yet closed; a drain waits for them so close frames reach the clients. */
  private open = 0;
  private readonly listeners: {
    message(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void;
    pong(this: WebSocket): void;
    error(this: WebSocket, error: Error): void;
    close(this: WebSocket, code: number, reason: Buffer): void;
  };

  constructor(inbound: InboundFrames, logger: Logger) {
    const sockets = this;
    this.listeners = {
      message(data, isBinary) {
        const session = sessionOf(this);
        session.markAlive();
        if (session.closing) return;
        if (isBinary) inbound.handleBinary(session);
        else void inbound.handleText(session, (data as Buffer).toString('utf8'));
      },
      pong() {
        sessionOf(this).markAlive();
      },
      error(error) {
        logger.debug({ err: error, session: sessionOf(this).id }, 'session socket error');
      },
      close(code, reason) {
        sockets.open--;
        sessionOf(this).transportClosed(code, reason.toString('utf8'));
      },
    };
  }

  /** Routes what `ws` receives, and its close, to `session`. */
  attach(ws: WebSocket, session: Session): void {
    this.open++;
    (ws as SessionSocket)[SESSION] = session;
    ws.on('message', this.listeners.message);
    ws.on('pong', this.listeners.pong);
    ws.on('error', this.listeners.error);
    ws.on('close', this.listeners.close);
  }

  /** WebSockets attached and not yet closed. */
  get openSockets(): number {
    return this.open;
  }
}
