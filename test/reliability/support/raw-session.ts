import WebSocket from 'ws';
import { API_KEY } from '../../cluster/support/node.js';

export interface Frame {
  type: string;
  [key: string]: unknown;
}

/** A request's outcome: the reply, or why none came (an error frame's code, `disconnected`). */
export type Outcome = { reply: Frame } | { failed: string };

/** Mints a ticket for `user` through the server API at `httpUrl` (the balancer: any node may answer). */
export async function mintTicket(httpUrl: string, user: string): Promise<string> {
  const response = await fetch(`${httpUrl}/api/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`ticket: HTTP ${response.status}`);
  return ((await response.json()) as { ticket: string }).ticket;
}

/**
 * A raw protocol session of `user` through the balancer that reconnects on its own (fresh ticket, short jittered
 * delay) until `close()`: what a hand-written client does. `onWelcome` runs on every new connection; frames without
 * a pending request go to `onFrame`; replies go there too, in stream order, before their request settles.
 */
export class RawSession {
  #ws: WebSocket | undefined;
  #nextId = 1;
  #pending = new Map<number, (outcome: Outcome) => void>();
  #closed = false;
  #welcomes: Array<(frame: Frame) => void> = [];
  node: string | undefined;
  connections = 0;

  constructor(
    readonly label: string,
    private readonly balancerHttpUrl: string,
    readonly user: string,
    private readonly handlers: { onWelcome(frame: Frame): void; onFrame(frame: Frame): void },
  ) {}

  start(): void {
    void this.#dial();
  }

  /** Resolves with the next `welcome` (a new connection), or the current one when `current` and connected. */
  welcomed(): Promise<Frame> {
    return new Promise((resolve) => this.#welcomes.push(resolve));
  }

  get connected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN && this.node !== undefined;
  }

  async #dial(): Promise<void> {
    while (!this.#closed) {
      try {
        const ticket = await mintTicket(this.balancerHttpUrl, this.user);
        if (this.#closed) return;
        await this.#open(ticket);
        return;
      } catch {
        // The balancer may still route to a node that just died; try again shortly.
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 150));
      }
    }
  }

  #open(ticket: string): Promise<void> {
    const url = `${this.balancerHttpUrl.replace(/^http/, 'ws')}/ws?ticket=${encodeURIComponent(ticket)}`;
    const ws = new WebSocket(url, ['wsgate.v1.json']);
    this.#ws = ws;
    return new Promise((resolve, reject) => {
      let opened = false;
      ws.on('open', () => {
        opened = true;
        resolve();
      });
      ws.on('error', (error) => {
        if (!opened) reject(error);
      });
      ws.on('message', (data) => this.#receive(JSON.parse(data.toString()) as Frame));
      ws.on('close', () => {
        this.node = undefined;
        for (const settle of this.#pending.values()) settle({ failed: 'disconnected' });
        this.#pending.clear();
        if (opened && !this.#closed) setTimeout(() => void this.#dial(), 50 + Math.random() * 150);
      });
    });
  }

  #receive(frame: Frame): void {
    if (frame.type === 'welcome') {
      this.node = String(frame.node);
      this.connections++;
      this.handlers.onWelcome(frame);
      for (const waiter of this.#welcomes.splice(0)) waiter(frame);
      return;
    }
    const settle = typeof frame.id === 'number' ? this.#pending.get(frame.id) : undefined;
    if (settle) {
      this.#pending.delete(frame.id as number);
      // Seen first in stream order, before the promise settles after the frames that followed it in the same read.
      this.handlers.onFrame(frame);
      settle(frame.type === 'error' ? { failed: String(frame.code) } : { reply: frame });
      return;
    }
    this.handlers.onFrame(frame);
  }

  /** Sends a request on the current connection; `failed: 'disconnected'` when there is none or it drops first. */
  request(frame: Frame): Promise<Outcome> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.resolve({ failed: 'disconnected' });
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  /** Stops reading the socket: the kernel buffers fill, then the node's send queue. */
  pause(): void {
    socketOf(this.#ws).pause();
  }

  resume(): void {
    socketOf(this.#ws).resume();
  }

  close(): void {
    this.#closed = true;
    this.#ws?.terminate();
  }
}

/** The TCP socket under a `ws` WebSocket (pausing it is the only way to stop reading). */
export function socketOf(ws: WebSocket | undefined): { pause(): void; resume(): void } {
  const socket = (ws as unknown as { _socket?: { pause(): void; resume(): void } } | undefined)?._socket;
  if (!socket) throw new Error('no open socket to pause');
  return socket;
}
