import { CloseCode } from '../protocol/index.js';
import type { WebSocketLike } from './socket.js';

/** The transports the client can carry a session on. */
export type TransportName = 'websocket' | 'sse' | 'http-stream';

type LinkListeners = {
  open: Array<() => void>;
  message: Array<(event: { data: unknown }) => void>;
  close: Array<(event: { code: number; reason: string }) => void>;
  error: Array<(event: unknown) => void>;
};

/** Closes that the gateway did not explain: the response ended or broke (its `disconnect` frame says why, if it sent one). */
const STREAM_ENDED = 1006;

/**
 * A session over a streaming HTTP response, seen as a WebSocket: server frames come on the response (SSE events, or
 * JSON lines read from `fetch`), client frames go up by `POST /emulation` with the secret `welcome` carried — the
 * frames sent in one turn in one POST, each POST numbered so the gateway applies them in order however they race.
 */
abstract class StreamLink implements WebSocketLike {
  readonly #listeners: LinkListeners = { open: [], message: [], close: [], error: [] };
  readonly #emulationUrl: string;
  #session: { id: string; secret: string } | undefined;
  #outbox: unknown[] = [];
  #seq = 0;
  #closed = false;

  constructor(url: URL) {
    this.#emulationUrl = new URL('./emulation', url).href;
  }

  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: keyof LinkListeners, listener: (event: never) => void): void {
    (this.#listeners[type] as Array<(event: never) => void>).push(listener);
  }

  protected opened(): void {
    for (const listener of this.#listeners.open) listener();
  }

  /** One server frame's JSON text. */
  protected received(text: string): void {
    if (this.#closed) return;
    if (!this.#session) {
      try {
        const welcome = JSON.parse(text) as { type?: string; session?: string; secret?: string };
        if (welcome.type === 'welcome' && welcome.session && welcome.secret) this.#session = { id: welcome.session, secret: welcome.secret };
      } catch {
        // Not JSON: the client reports it as an unreadable frame.
      }
    }
    for (const listener of this.#listeners.message) listener({ data: text });
  }

  /** The stream is over: `code` when the client ended it, else an unexplained end. */
  protected ended(code = STREAM_ENDED, reason = 'stream ended', error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stop();
    if (error !== undefined) for (const listener of this.#listeners.error) listener({ error });
    for (const listener of this.#listeners.close) listener({ code, reason });
  }

  send(data: string): void {
    if (this.#closed || !this.#session) return;
    this.#outbox.push(JSON.parse(data));
    if (this.#outbox.length === 1) queueMicrotask(() => this.#post());
  }

  #post(): void {
    const session = this.#session!;
    const frames = this.#outbox;
    this.#outbox = [];
    const body = JSON.stringify({ session: session.id, secret: session.secret, seq: ++this.#seq, frames });
    fetch(this.#emulationUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body, credentials: 'same-origin' }).then(
      (response) => {
        // 404: the session is gone (ended on the gateway); its stream ends with it, or already has.
        if (response.status === 404) this.ended(STREAM_ENDED, 'session not found');
      },
      (error: unknown) => this.ended(STREAM_ENDED, 'request failed', error),
    );
  }

  close(code: number = CloseCode.NORMAL, reason = ''): void {
    // As a WebSocket does, the close event comes after `close()` returns.
    queueMicrotask(() => this.ended(code, reason));
  }

  /** Releases the response (closes the EventSource, aborts the fetch). */
  protected abstract stop(): void;
}

/** Server frames as Server-Sent Events from `GET /sse`. */
export class EventSourceLink extends StreamLink {
  readonly #source: EventSource;

  constructor(url: URL, EventSourceImpl: typeof EventSource) {
    super(url);
    const target = new URL('./sse', url);
    target.search = url.search;
    this.#source = new EventSourceImpl(target.href, { withCredentials: true });
    this.#source.onopen = () => this.opened();
    this.#source.onmessage = (event: MessageEvent) => this.received(String(event.data));
    // EventSource reconnects by itself; the client decides that (with a fresh ticket), so an error ends the link.
    this.#source.onerror = () => this.ended();
  }

  protected stop(): void {
    this.#source.close();
  }
}

/** Server frames as JSON lines from a streaming `fetch` of `POST /stream`, where EventSource is missing. */
export class FetchStreamLink extends StreamLink {
  readonly #abort = new AbortController();

  constructor(url: URL) {
    super(url);
    const target = new URL('./stream', url);
    target.search = url.search;
    void this.#read(target);
  }

  async #read(target: URL): Promise<void> {
    try {
      // Credentials as EventSource's `withCredentials`: the session cookie authenticates on another origin too.
      const response = await fetch(target.href, { method: 'POST', signal: this.#abort.signal, credentials: 'include', headers: { accept: 'application/x-ndjson' } });
      if (response.status !== 200 || !response.body) {
        this.ended(STREAM_ENDED, `stream refused (${response.status})`, new Error(`Unexpected server response: ${response.status}`));
        return;
      }
      this.opened();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        let end: number;
        while ((end = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
          if (line !== '') this.received(line);
        }
      }
      this.ended();
    } catch (error) {
      this.ended(STREAM_ENDED, 'stream broke', error);
    }
  }

  protected stop(): void {
    this.#abort.abort();
  }
}

/** The HTTP URL the streaming endpoints sit beside: the WebSocket URL with an `http(s):` scheme. */
export function streamingBase(url: URL): URL {
  const base = new URL(url);
  base.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return base;
}
