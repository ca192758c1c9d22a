/**
 * A scripted stand-in for the gateway: a real `ws` WebSocketServer on port 0 that records handshakes and hands each
 * accepted connection to the test, which reads the client's frames and answers with protocol frames of its choosing.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Subprotocol } from '../../src/protocol/index.js';
import { WsgateClient, type ClientStatus, type WsgateClientOptions } from '../../src/client/index.js';

/** A FIFO whose `shift()` waits for the next item. */
export class AsyncQueue<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  shift(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  get size(): number {
    return this.#items.length;
  }
}

export type Frame = { type: string; [field: string]: unknown };

export interface Handshake {
  url: URL;
  protocol: string | undefined;
  /** The time the handshake arrived (performance.now()). */
  at: number;
}

export class ScriptedSession {
  readonly #socket: WebSocket;
  readonly #frames = new AsyncQueue<Frame>();
  readonly handshake: Handshake;
  /** Resolves with the close code when the connection ends. */
  readonly closed: Promise<number>;

  constructor(socket: WebSocket, handshake: Handshake) {
    this.#socket = socket;
    this.handshake = handshake;
    socket.on('message', (data) => this.#frames.push(JSON.parse(String(data)) as Frame));
    this.closed = new Promise((resolve) => socket.once('close', (code) => resolve(code)));
  }

  /** The next frame the client sent. */
  next(): Promise<Frame> {
    return this.#frames.shift();
  }

  /** The next frame, asserting its type. */
  async expect(type: string): Promise<Frame> {
    const frame = await this.next();
    if (frame.type !== type) throw new Error(`expected a ${type} frame, got ${JSON.stringify(frame)}`);
    return frame;
  }

  send(frame: Frame): void {
    this.#socket.send(JSON.stringify(frame));
  }

  /** Sends text as is, e.g. something that is not a protocol frame. */
  sendRaw(text: string): void {
    this.#socket.send(text);
  }

  welcome(session: string, user: string | null = 'alice'): void {
    this.send({ type: 'welcome', session, user, node: 'node-1', protocol: Subprotocol.JSON_V1, pingInterval: 25_000 });
  }

  /** Sends `disconnect` and closes with its code, as the gateway does. */
  disconnect(code: number, reason: string, reconnect: boolean, after?: number): void {
    this.send({ type: 'disconnect', code, reason, reconnect, ...(after === undefined ? {} : { after }) });
    this.#socket.close(code, reason);
  }

  close(code: number, reason = ''): void {
    this.#socket.close(code, reason);
  }
}

export interface GatewayScript {
  /** HTTP status (and headers) to refuse the handshake with; undefined accepts it. */
  refuse?: (handshake: Handshake) => number | { status: number; headers: Record<string, string> } | undefined;
}

const handshakes = new WeakMap<IncomingMessage, Handshake>();

export class ScriptedGateway {
  readonly #server: WebSocketServer;
  readonly #sessions = new AsyncQueue<ScriptedSession>();
  readonly handshakes: Handshake[] = [];
  readonly url: string;

  private constructor(server: WebSocketServer) {
    this.#server = server;
    this.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
    server.on('connection', (socket: WebSocket, request: IncomingMessage) => {
      this.#sessions.push(new ScriptedSession(socket, handshakes.get(request)!));
    });
  }

  static start(script: GatewayScript = {}): Promise<ScriptedGateway> {
    let gateway: ScriptedGateway | undefined;
    const handshakeOf = (request: IncomingMessage): Handshake => ({
      url: new URL(request.url ?? '/', 'ws://localhost'),
      protocol: request.headers['sec-websocket-protocol'],
      at: performance.now(),
    });
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        handleProtocols: (protocols) => (protocols.has(Subprotocol.JSON_V1) ? Subprotocol.JSON_V1 : false),
        verifyClient: (info, done) => {
          const handshake = handshakeOf(info.req);
          handshakes.set(info.req, handshake);
          gateway!.handshakes.push(handshake);
          const refusal = script.refuse?.(handshake);
          if (refusal === undefined) done(true);
          else if (typeof refusal === 'number') done(false, refusal);
          else done(false, refusal.status, '', refusal.headers);
        },
      });
      server.once('error', reject);
      server.once('listening', () => {
        gateway = new ScriptedGateway(server);
        resolve(gateway);
      });
    });
  }

  /** The next accepted connection. */
  nextSession(): Promise<ScriptedSession> {
    return this.#sessions.shift();
  }

  async close(): Promise<void> {
    for (const socket of this.#server.clients) socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A client wired to `ws`, with fast backoff so tests do not wait on jitter, recording every status. */
export function createClient(
  url: string,
  options: WsgateClientOptions = {},
): { client: WsgateClient; statuses: ClientStatus[] } {
  const client = new WsgateClient({
    url,
    WebSocket,
    backoff: { minDelay: 5, maxDelay: 20 },
    requestTimeout: 2_000,
    connectTimeout: 2_000,
    ...options,
  });
  const statuses: ClientStatus[] = [];
  client.on('status', (status) => statuses.push(status));
  return { client, statuses };
}

/** Resolves with the first status (from now on) whose type matches. */
export function nextStatus<T extends ClientStatus['type']>(
  client: WsgateClient,
  type: T,
): Promise<Extract<ClientStatus, { type: T }>> {
  return new Promise((resolve) => {
    const off = client.on('status', (status) => {
      if (status.type !== type) return;
      off();
      resolve(status as Extract<ClientStatus, { type: T }>);
    });
  });
}

/** Tickets `t1`, `t2`, ... and a count of calls. */
export function ticketSource(): { getTicket: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return { getTicket: async () => `t${++calls}`, calls: () => calls };
}
