import { Subprotocol } from '../../src/protocol/subprotocol.js';
import type { Frame } from './client.js';

/**
 * A protocol client on the runtime's own WebSocket (the global one, as browsers and Deno have it) rather than `ws`:
 * what a consumer of the package gets without installing a client library.
 */
export interface NativeClient {
  readonly socket: WebSocket;
  /** The welcome frame; rejects when the handshake fails. */
  readonly welcome: Promise<Frame>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The next frame of `type` received from now on. */
  next(type: string): Promise<Frame>;
  send(frame: object): void;
}

export function openNative(url: string): NativeClient {
  const socket = new WebSocket(url, [Subprotocol.JSON_V1]);
  const next = (type: string) => new Promise<Frame>((resolve) => {
    const onMessage = (event: MessageEvent) => {
      const frame = JSON.parse(String(event.data)) as Frame;
      if (frame.type !== type) return;
      socket.removeEventListener('message', onMessage);
      resolve(frame);
    };
    socket.addEventListener('message', onMessage);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })));
  const welcome = Promise.race([
    next('welcome'),
    closed.then(({ code, reason }) => { throw new Error(`${url}: closed before welcome (${code} ${reason})`); }),
  ]);
  welcome.catch(() => {});
  return { socket, welcome, closed, next, send: (frame) => socket.send(JSON.stringify(frame)) };
}
