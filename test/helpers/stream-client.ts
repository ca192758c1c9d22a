import { request as httpRequest, type IncomingMessage } from 'node:http';
import { FrameLog, HandshakeRefused, type Frame } from './client.js';

export interface StreamOptions {
  ticket?: string;
  token?: string;
  headers?: Record<string, string>;
  origin?: string;
  /** Where `POST /emulation` goes (another node, a balancer); default: the node that serves the stream. */
  postUrl?: string;
}

/**
 * A raw client of a streaming transport: server frames from an SSE response (read from the bytes of a plain HTTP
 * response) or a stream of JSON lines (read with `fetch`), client frames by `POST /emulation` with the secret from
 * `welcome`, each POST numbered so the node applies them in order however they race.
 */
export class StreamClient extends FrameLog {
  /** Heartbeats received (SSE comments, empty lines). */
  heartbeats = 0;
  /** Resolves when the node ended the response (or the connection broke). */
  readonly ended: Promise<void>;
  private endedNow!: () => void;
  private seq = 0;
  private buffered = '';

  constructor(readonly kind: 'sse' | 'http-stream', private readonly postUrl: string, private readonly stop: () => void) {
    super();
    this.ended = new Promise((resolve) => (this.endedNow = resolve));
  }

  /** Bytes of the response body, as they arrive. */
  feed(text: string): void {
    this.buffered += text;
    const separator = this.kind === 'sse' ? '\n\n' : '\n';
    for (let end = this.buffered.indexOf(separator); end >= 0; end = this.buffered.indexOf(separator)) {
      const block = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + separator.length);
      this.readBlock(block);
    }
  }

  private readBlock(block: string): void {
    if (this.kind === 'http-stream') {
      if (block === '') this.heartbeats++;
      else this.received(JSON.parse(block) as Frame);
      return;
    }
    const lines = block.split('\n');
    const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6));
    if (data.length > 0) this.received(JSON.parse(data.join('\n')) as Frame);
    else if (lines.every((line) => line.startsWith(':'))) this.heartbeats++;
  }

  finished(): void {
    this.endedNow();
  }

  send(frame: object): void {
    void this.post([frame]);
  }

  /** One `POST /emulation` with the next sequence number (or `seq`); resolves with its status. */
  async post(frames: object[], overrides: { seq?: number; secret?: string; session?: string; url?: string } = {}): Promise<number> {
    const welcome = this.welcome ?? (await this.seen('welcome'));
    const body = {
      session: overrides.session ?? welcome.session,
      secret: overrides.secret ?? welcome.secret,
      seq: overrides.seq ?? ++this.seq,
      frames,
    };
    const response = await fetch(overrides.url ?? this.postUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await response.arrayBuffer();
    return response.status;
  }

  /** Takes the next sequence number without sending it (a POST that is lost, or sent later by hand). */
  skipSeq(): number {
    return ++this.seq;
  }

  close(): Promise<void> {
    this.stop();
    return this.ended;
  }
}

function targetOf(httpUrl: string, path: string, options: StreamOptions): string {
  const params = new URLSearchParams();
  if (options.ticket) params.set('ticket', options.ticket);
  if (options.token) params.set('token', options.token);
  const query = params.toString();
  return `${httpUrl}${path}${query ? `?${query}` : ''}`;
}

function headersOf(options: StreamOptions, accept: string): Record<string, string> {
  return { accept, ...(options.origin ? { origin: options.origin } : {}), ...options.headers };
}

/** Opens `GET /sse` on a plain HTTP connection; resolves once the response started, rejects when it was refused. */
export function openSse(httpUrl: string, options: StreamOptions = {}): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(targetOf(httpUrl, '/sse', options), { headers: headersOf(options, 'text/event-stream') });
    const client = new StreamClient('sse', options.postUrl ?? `${httpUrl}/emulation`, () => req.destroy());
    req.on('error', (error) => {
      client.finished();
      reject(error);
    });
    req.on('response', (response: IncomingMessage) => {
      response.setEncoding('utf8');
      if (response.statusCode !== 200) {
        let body = '';
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => reject(new HandshakeRefused(response.statusCode ?? 0, body)));
        return;
      }
      response.on('data', (chunk: string) => client.feed(chunk));
      response.on('close', () => client.finished());
      resolve(client);
    });
    req.end();
  });
}

/** Opens `POST /stream` with `fetch`; resolves once the response started, rejects when it was refused. */
export async function openHttpStream(httpUrl: string, options: StreamOptions = {}): Promise<StreamClient> {
  const abort = new AbortController();
  const response = await fetch(targetOf(httpUrl, '/stream', options), {
    method: 'POST', headers: headersOf(options, 'application/x-ndjson'), signal: abort.signal,
  });
  if (response.status !== 200) throw new HandshakeRefused(response.status, await response.text());
  const client = new StreamClient('http-stream', options.postUrl ?? `${httpUrl}/emulation`, () => abort.abort());
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body!) client.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch {
      // Aborted by the test, or the connection broke: either way the stream is over.
    }
    client.finished();
  })();
  return client;
}

/** Opens a streaming session and waits for its `welcome`. */
export async function connectStream(kind: 'sse' | 'http-stream', httpUrl: string, options: StreamOptions = {}): Promise<StreamClient> {
  const client = kind === 'sse' ? await openSse(httpUrl, options) : await openHttpStream(httpUrl, options);
  client.welcome = await client.seen('welcome');
  return client;
}
