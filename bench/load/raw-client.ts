/**
 * The subscribers' WebSocket client: a raw TCP socket (`node:net`), the HTTP/1.1 upgrade written by hand, and a frame
 * walker (frame-walker.ts) that counts deliveries without decoding them. It replaces the `ws` client library on the
 * subscriber side (frame parsing, UTF-8 handling, an event and a Buffer per message), so that thousands of subscribers
 * cost the load processes much less than the server they measure. Every target uses it, so comparisons stay fair:
 *
 * - `ws`: every text message after the 101 is a delivery.
 * - `socketio`: Engine.IO v4 over WebSocket: `0{...}` open → send `40` → `40{...}`; subscribe is the event
 *   `420["subscribe",channel]` acknowledged by `430[]`; deliveries are `42["message",...]`; pings `2` are answered `3`.
 * - `wsgate`: protocol v1 (`wsgate.v1.json`): `welcome` → `subscribe` → `subscribed`; then every text message is a
 *   `message` (an anonymous subscriber of one channel without presence receives nothing else).
 *
 * One read buffer is shared by every socket of the process (`onread`), so reading allocates nothing; only sampled
 * subscribers (and short frames that may be protocol packets) copy payload bytes out.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { clientFrame, FrameWalker, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, type FrameSink } from './frame-walker.js';
import type { ConnectSpec } from './messages.js';
import { retryAfterMs } from '../../src/client/socket.js';

export interface RawClient {
  /** wsgate: the node that welcomed the session (`welcome.node`). */
  readonly node?: string;
  send(text: string): void;
  close(): void;
}

export interface RawClientEvents {
  /** A delivery: `payload` only for sampled clients (which are asked to extract it). */
  onDelivery(payload?: Buffer): void;
  /** An open client's socket closed: `close <code>` (the peer's close frame), `tcp <code>` (a socket error), `tcp end`. */
  onClose(why: string): void;
}

export interface RawClientOptions {
  /** wsgate with `ticketApiKey`: this ticket instead of one minted here (the caller times its own request). */
  ticket?: string;
  /** Gives up on the handshake (until `welcome`/`subscribed`) after this long. Default 30 s. */
  timeoutMs?: number;
}

/** Data messages shorter than this are extracted even when not sampled: Engine.IO pings and protocol replies are a few
 * bytes, deliveries (64-byte payload plus envelope) are longer. */
const INSPECT_BELOW = 32;

const WSGATE_SUBPROTOCOL = 'wsgate.v1.json';
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HANDSHAKE_TIMEOUT_MS = 30_000;

/** Shared by all sockets of this process: each read is handed to the walker synchronously, nothing keeps a reference. */
const readBuffer = Buffer.allocUnsafe(128 * 1024);
const maskKey = new Uint8Array(4);

export async function openRawClient(
  spec: ConnectSpec,
  index: number,
  sampled: boolean,
  events: RawClientEvents,
  options: RawClientOptions = {},
): Promise<RawClient> {
  const base = new URL(spec.urls[index % spec.urls.length]!);
  let path = '/';
  let subprotocol: string | undefined;
  if (spec.kind === 'socketio') path = '/socket.io/?EIO=4&transport=websocket';
  if (spec.kind === 'wsgate') {
    subprotocol = WSGATE_SUBPROTOCOL;
    path = spec.ticketApiKey ? `/ws?ticket=${options.ticket ?? (await mintTicket(base, spec.ticketApiKey, `bench-${index}`))}` : '/ws';
  }
  return new Promise((resolve, reject) => {
    new Connection(base, path, subprotocol, spec, sampled, events, resolve, reject, options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  });
}

async function mintTicket(base: URL, apiKey: string, user: string): Promise<string> {
  const response = await fetch(`http://${base.host}/api/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  if (!response.ok) throw new Error(`POST /api/tickets: HTTP ${response.status}`);
  return ((await response.json()) as { ticket: string }).ticket;
}

/** Publications are recognised by this within the frame's first bytes (the envelope precedes `data`). */
const MESSAGE_TYPE = Buffer.from('"type":"message"');

function isWsgateMessage(payload: Buffer): boolean {
  return payload.subarray(0, 64).includes(MESSAGE_TYPE);
}

type Phase = 'upgrade' | 'protocol' | 'ready' | 'closed';

/** A handshake answered with an HTTP status other than 101: `handshake: HTTP 503 NODE_BUSY`. */
export class HandshakeRefused extends Error {
  constructor(readonly status: number, readonly code: string | undefined, readonly retryAfterMs: number | undefined) {
    super(`handshake: HTTP ${status}${code ? ` ${code}` : ''}`);
  }
}

class Connection implements FrameSink, RawClient {
  private readonly socket: Socket;
  private readonly walker: FrameWalker;
  private phase: Phase = 'upgrade';
  private readonly key = randomBytes(16).toString('base64');
  /** Response bytes until the end of the HTTP header block (copied: the read buffer is shared). */
  private response: Buffer[] = [];
  private readonly timer: NodeJS.Timeout;
  /** The peer's close code, and the socket's error code: why an open client closed. */
  private closeCode?: number;
  private socketError?: string;
  node?: string;

  constructor(
    base: URL,
    path: string,
    private readonly subprotocol: string | undefined,
    private readonly spec: ConnectSpec,
    private readonly sampled: boolean,
    private readonly events: RawClientEvents,
    private readonly resolve: (client: RawClient) => void,
    private readonly reject: (error: Error) => void,
    timeoutMs: number,
  ) {
    this.walker = new FrameWalker(this, INSPECT_BELOW);
    this.walker.collectAll = true; // until ready: every frame of the handshake is read
    this.timer = setTimeout(() => this.fail(new Error('handshake timed out')), timeoutMs);
    this.socket = connect({
      host: base.hostname,
      port: Number(base.port),
      noDelay: true,
      onread: { buffer: readBuffer, callback: (n: number, buffer: Uint8Array) => this.onRead(n, buffer) },
    });
    this.socket.on('error', (error: NodeJS.ErrnoException) => {
      this.socketError ??= error.code ?? 'error';
      this.fail(error);
    });
    this.socket.on('close', () => this.onSocketClose());
    this.socket.once('connect', () => {
      this.socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${base.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n` +
          (subprotocol ? `Sec-WebSocket-Protocol: ${subprotocol}\r\n` : '') +
          '\r\n',
      );
    });
  }

  // --- RawClient

  send(text: string): void {
    this.write(OP_TEXT, Buffer.from(text));
  }

  close(): void {
    this.phase = 'closed';
    this.socket.destroy();
  }

  // --- reading

  /** Returns true: keep reading (false would pause the socket). */
  private onRead(n: number, buffer: Uint8Array): boolean {
    if (this.phase !== 'upgrade') {
      this.walker.push(buffer, 0, n);
      return true;
    }
    this.response.push(Buffer.from(buffer.subarray(0, n)));
    const bytes = Buffer.concat(this.response);
    const end = bytes.indexOf('\r\n\r\n');
    if (end < 0) {
      if (bytes.length > 16_384) this.fail(new Error('handshake response header too large'));
      return true;
    }
    this.response = [];
    const problem = this.checkUpgrade(bytes.toString('latin1', 0, end));
    if (problem) {
      this.fail(typeof problem === 'string' ? new Error(problem) : problem);
      return false;
    }
    this.phase = 'protocol';
    if (this.spec.kind === 'ws') this.ready();
    if (end + 4 < bytes.length) this.walker.push(bytes, end + 4);
    return true;
  }

  /**
   * The 101 and its headers, as RFC 6455 §4.1 has the client check them; a message when they are wrong, a
   * HandshakeRefused for another status (with the gateway's code and `Retry-After`, as the SDK reads them in Node).
   */
  private checkUpgrade(head: string): string | HandshakeRefused | undefined {
    const lines = head.split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (status?.[1] !== '101') {
      if (!status) return `handshake: HTTP ${lines[0]}`;
      return new HandshakeRefused(Number(status[1]), headers.get('x-wsgate-error'), retryAfterMs(headers.get('retry-after'), Date.now()));
    }
    const accept = createHash('sha1').update(this.key + WS_GUID).digest('base64');
    if (headers.get('upgrade')?.toLowerCase() !== 'websocket') return 'handshake: no Upgrade: websocket';
    if (headers.get('sec-websocket-accept') !== accept) return 'handshake: wrong Sec-WebSocket-Accept';
    if (this.subprotocol && headers.get('sec-websocket-protocol') !== this.subprotocol) {
      return `handshake: subprotocol ${headers.get('sec-websocket-protocol') ?? '(none)'}`;
    }
    return undefined;
  }

  // --- FrameSink

  onCounted(): void {
    if (this.phase === 'ready') this.events.onDelivery();
  }

  onMessage(payload: Buffer): void {
    if (this.phase === 'ready') {
      if (this.spec.kind === 'socketio') {
        if (payload.length === 1 && payload[0] === 0x32 /* '2' */) return this.send('3');
        if (payload[0] !== 0x34 || payload[1] !== 0x32 /* '42' */) return;
      } else if (this.spec.kind === 'wsgate' && !(this.sampled && isWsgateMessage(payload))) {
        return; // a short frame (or, sampled, any other type) is not a publication
      }
      this.events.onDelivery(this.sampled ? payload : undefined);
      return;
    }
    if (this.phase !== 'protocol') return;
    const text = payload.toString();
    if (this.spec.kind === 'socketio') this.socketIoHandshake(text);
    else if (this.spec.kind === 'wsgate') this.wsgateHandshake(text);
  }

  onControl(opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) this.write(OP_PONG, payload);
    else if (opcode === OP_CLOSE) {
      this.closeCode ??= payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (this.phase !== 'closed') this.write(OP_CLOSE, payload.subarray(0, 2));
      this.socket.end();
    }
  }

  private socketIoHandshake(text: string): void {
    if (text === '2') return this.send('3');
    if (text.startsWith('0')) return this.send('40'); // Engine.IO open → Socket.IO connect to the main namespace
    if (text.startsWith('40')) {
      if (!this.spec.subscribe) return this.ready();
      return this.send(`420${JSON.stringify(['subscribe', this.spec.channel])}`);
    }
    if (text.startsWith('430')) return this.ready();
    if (text.startsWith('44')) this.fail(new Error(`socket.io connect_error: ${text.slice(2)}`));
  }

  private wsgateHandshake(text: string): void {
    const frame = JSON.parse(text) as { type: string; id?: string; code?: string; message?: string; node?: string };
    if (frame.type === 'welcome') {
      this.node = frame.node;
      if (!this.spec.subscribe) return this.ready();
      this.send(JSON.stringify({ type: 'subscribe', id: 'sub', channel: this.spec.channel }));
    } else if (frame.type === 'subscribed' && frame.id === 'sub') {
      this.ready();
    } else if (frame.type === 'error' || frame.type === 'disconnect') {
      this.fail(new Error(`wsgate ${frame.type}: ${frame.code ?? ''} ${frame.message ?? ''}`));
    }
  }

  // --- state

  private ready(): void {
    clearTimeout(this.timer);
    this.phase = 'ready';
    this.walker.collectAll = this.sampled;
    this.resolve(this);
  }

  private fail(error: Error): void {
    clearTimeout(this.timer);
    if (this.phase === 'ready') {
      this.socket.destroy();
      return; // reported by 'close'
    }
    this.phase = 'closed';
    this.socket.destroy();
    this.reject(error);
  }

  private onSocketClose(): void {
    clearTimeout(this.timer);
    const wasReady = this.phase === 'ready';
    if (wasReady) this.events.onClose(this.closeCode !== undefined ? `close ${this.closeCode}` : `tcp ${this.socketError ?? 'end'}`);
    else if (this.phase !== 'closed') this.reject(new Error('closed during the handshake'));
    this.phase = 'closed';
  }

  private write(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    randomFillSync(maskKey);
    this.socket.write(clientFrame(opcode, payload, maskKey));
  }
}
