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

/** A handshake the gateway answered with an HTTP status instead of the upgrade. */
export interface HandshakeRefusal {
  status: number;
  /** The catalogue's code (`X-Wsgate-Error`), when the gateway sent one. */
  code?: string;
  /** `Retry-After` in ms, when sent: seconds, or an HTTP date. */
  retryAfter?: number;
}

/** The part of the `ws` package's client the refusal is read from: browsers (and Node's global WebSocket) show none. */
interface NodeWebSocketEvents {
  on(event: 'unexpected-response', listener: (req: unknown, res: { statusCode?: number; headers: Record<string, string | string[] | undefined> }) => void): void;
}

/**
 * Reports the status and `Retry-After` of a refused handshake where the WebSocket implementation exposes them (the
 * `ws` package's `unexpected-response`), then aborts the attempt, which ends in `error` and `close` as any failed
 * handshake does. Elsewhere it does nothing: a browser only sees a failed connection.
 */
export function onHandshakeRefusal(socket: WebSocketLike, listener: (refusal: HandshakeRefusal) => void, now: () => number = Date.now): void {
  const events = socket as Partial<NodeWebSocketEvents>;
  if (typeof events.on !== 'function') return;
  events.on('unexpected-response', (_req, res) => {
    const code = res.headers['x-wsgate-error'];
    const retryAfter = retryAfterMs(res.headers['retry-after'], now());
    listener({
      status: res.statusCode ?? 0,
      ...(typeof code === 'string' ? { code } : {}),
      ...(retryAfter === undefined ? {} : { retryAfter }),
    });
    socket.close();
  });
}

/** The longest wait a `Retry-After` may ask for; a larger one is taken as this. */
const RETRY_AFTER_CAP_MS = 300_000;

/** `Retry-After` (RFC 9110 10.2.3: whole seconds or an HTTP date) in ms from `now`; undefined when absent or malformed. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(RETRY_AFTER_CAP_MS, Number(trimmed) * 1000);
  // An HTTP date starts with the day's name (IMF-fixdate, RFC 850 and asctime forms alike).
  if (!/^[A-Za-z]{3}/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, date - now));
}
