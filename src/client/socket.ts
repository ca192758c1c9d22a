/**
 * The part of the WebSocket API the client uses. Both the browser's `WebSocket` and the `ws` package satisfy it; the
 * listener parameters are deliberately narrow so either implementation's event objects fit.
 */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers and Node, or `WebSocket` from the `ws` package. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * Turns the `url` option into an absolute ws(s) URL. Without one, or with a relative one, the page's own origin is used
 * (`/ws` on the same host), so browser code can simply write `new WsgateClient({ getTicket })`.
 */
export function resolveGatewayUrl(url: string | URL | undefined): URL {
  const location = (globalThis as { location?: { href: string } }).location;
  if (url === undefined && !location) throw new TypeError('wsgate client: the url option is required outside a browser');
  const resolved = new URL(url ?? '/ws', location?.href);
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
  else if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
  if (resolved.protocol !== 'ws:' && resolved.protocol !== 'wss:')
    throw new TypeError(`wsgate client: unsupported url scheme ${resolved.protocol}`);
  return resolved;
}

/** The constructor option, else the global one (browsers, Node 22+). */
export function resolveWebSocket(option: WebSocketConstructor | undefined): WebSocketConstructor {
  const ctor = option ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof ctor !== 'function')
    throw new TypeError('wsgate client: no global WebSocket; pass one, e.g. { WebSocket } from the "ws" package');
  return ctor;
}
