import WebSocket from 'ws';
import type { RunningGateway } from './gateway.js';
import { mintTicket } from './gateway.js';

export interface Frame {
  type: string;
  [key: string]: unknown;
}

export interface ConnectOptions {
  ticket?: string;
  token?: string;
  headers?: Record<string, string>;
  protocols?: string[];
  origin?: string;
  query?: string;
  /** Set false to leave pings unanswered (a dead peer). */
  autoPong?: boolean;
  /** Socket options passed to `ws` (`localAddress`, `ca` for wss://, `createConnection`). */
  socket?: WebSocket.ClientOptions;
}

/**
 * The frames a client received, whatever carried them: tests await the next one of a type, send requests and await
 * their replies. Subclasses feed `received` and say how a frame is sent.
 */
export abstract class FrameLog {
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }> = [];
  private nextId = 1;
  welcome?: Frame;

  protected received(frame: Frame): void {
    this.frames.push(frame);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(frame)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  }

  abstract send(frame: object): void;

  /** The first frame (already received or future) matching `match`, after `since` frames. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs = 5_000, since = 0): Promise<Frame> {
    const seen = this.frames.slice(since).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`)), timeoutMs);
      this.waiters.push({ match, resolve: (frame) => { clearTimeout(timer); resolve(frame); } });
    });
  }

  next(type: string, predicate: (frame: Frame) => boolean = () => true, timeoutMs?: number): Promise<Frame> {
    const since = this.frames.length;
    return this.waitFor((frame) => frame.type === type && predicate(frame), timeoutMs, since);
  }

  /** Any frame of `type` received so far or later. */
  seen(type: string, predicate: (frame: Frame) => boolean = () => true, timeoutMs?: number): Promise<Frame> {
    return this.waitFor((frame) => frame.type === type && predicate(frame), timeoutMs);
  }

  /** Sends a request with a fresh id; resolves with the reply or error that echoes it. */
  request(frame: Frame): Promise<Frame> {
    const id = this.nextId++;
    const reply = this.waitFor((candidate) => candidate.id === id);
    this.send({ ...frame, id });
    return reply;
  }

  async subscribe(channel: string, extra: object = {}): Promise<Frame> {
    const reply = await this.request({ type: 'subscribe', channel, ...extra });
    if (reply.type !== 'subscribed') throw new Error(`subscribe ${channel}: ${JSON.stringify(reply)}`);
    return reply;
  }

  count(type: string): number {
    return this.frames.filter((frame) => frame.type === type).length;
  }
}

/** A raw protocol client on a real `ws` socket. */
export class TestClient extends FrameLog {
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.received(JSON.parse(data.toString()) as Frame);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close(1000);
    return this.closed;
  }
}

/** Opens a socket and waits for the `welcome` frame. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const client = await open(url, options);
  client.welcome = await client.seen('welcome');
  return client;
}

/** Opens a socket (resolves on open, before `welcome`); rejects with the HTTP status when the handshake is refused. */
export function open(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const params = new URLSearchParams();
  if (options.ticket) params.set('ticket', options.ticket);
  if (options.token) params.set('token', options.token);
  const query = [params.toString(), options.query ?? ''].filter(Boolean).join('&');
  const ws = new WebSocket(query ? `${url}?${query}` : url, options.protocols ?? ['wsgate.v1.json'], {
    headers: options.headers,
    origin: options.origin,
    autoPong: options.autoPong ?? true,
    ...options.socket,
  });
  const client = new TestClient(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => reject(new HandshakeRefused(response.statusCode ?? 0, body)));
    });
    ws.once('error', (error) => reject(error));
  });
}

export class HandshakeRefused extends Error {
  override readonly name = 'HandshakeRefused';
  readonly code: string;
  constructor(readonly status: number, readonly body: string) {
    super(`handshake refused: ${status} ${body}`);
    this.code = (() => {
      try {
        return (JSON.parse(body) as { code: string }).code;
      } catch {
        return '';
      }
    })();
  }
}

/** A connected client for `user` through a freshly minted ticket. */
export async function connectAs(running: RunningGateway, user: string | null, claims: Record<string, unknown> = {}): Promise<TestClient> {
  return connect(running.wsUrl, { ticket: await mintTicket(running, user, claims) });
}
