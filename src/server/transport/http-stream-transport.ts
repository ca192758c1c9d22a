import type { ServerResponse } from 'node:http';
import { CloseCode } from '../../protocol/close-codes.js';
import type { PreparedFrame } from '../codec/prepared-frame.js';
import type { Session } from '../session/session.js';
import type { SessionTransport } from '../session/session-transport.js';

/**
 * How frames are laid out in a streaming response: Server-Sent Events (each frame one `data:` event, heartbeats as
 * comments) or newline-delimited JSON (each frame one line, heartbeats as empty lines).
 */
export interface StreamFraming {
  readonly name: 'sse' | 'http-stream';
  readonly contentType: string;
  /** Bytes before and after each frame's payload. */
  readonly before: Buffer;
  readonly after: Buffer;
  readonly heartbeat: Buffer;
}

export const SseFraming: StreamFraming = {
  name: 'sse',
  contentType: 'text/event-stream; charset=utf-8',
  before: Buffer.from('data: '),
  after: Buffer.from('\n\n'),
  heartbeat: Buffer.from(':\n\n'),
};

export const NdjsonFraming: StreamFraming = {
  name: 'http-stream',
  contentType: 'application/x-ndjson; charset=utf-8',
  before: Buffer.alloc(0),
  after: Buffer.from('\n'),
  heartbeat: Buffer.from('\n'),
};

/** The headers of a streaming response: no caching, no transformation, and no buffering by proxies that honour it. */
export function streamHeaders(framing: StreamFraming): Record<string, string> {
  return {
    'Content-Type': framing.contentType,
    'Cache-Control': 'no-cache, no-store, no-transform',
    'X-Accel-Buffering': 'no',
  };
}

const NEWLINE = 0x0a;

/**
 * A session's connection over a streaming HTTP response: server frames as SSE events or JSON lines, written from each
 * frame's `payload` (the WebSocket framing in `wire` is not used). Backpressure is the response's: its `writableLength`
 * counts toward the slow-consumer bound and its `drain` resumes flushing, as the socket's do for a WebSocket. Client
 * frames arrive by `POST /emulation`, not here. Ending the session ends the response, after the `disconnect` frame the
 * session wrote; heartbeats keep idle proxies from closing a quiet stream.
 */
export class HttpStreamTransport implements SessionTransport {
  readonly name: StreamFraming['name'];
  private session?: Session;
  private closedWith?: { code: number; reason: string };
  private heartbeatTimer?: NodeJS.Timeout;
  private wroteSinceHeartbeat = false;

  constructor(private readonly res: ServerResponse, private readonly framing: StreamFraming, private readonly heartbeatMs: number) {
    this.name = framing.name;
  }

  /** Routes the response's end to `session` and starts the heartbeats. */
  attach(session: Session): void {
    this.session = session;
    this.res.once('close', () => {
      clearInterval(this.heartbeatTimer);
      const closed = this.closedWith ?? { code: CloseCode.NORMAL, reason: 'stream closed by the client' };
      session.transportClosed(closed.code, closed.reason);
    });
    this.res.on('error', () => this.res.destroy());
    this.heartbeatTimer = setInterval(() => {
      if (!this.wroteSinceHeartbeat && this.writable && this.res.writableLength === 0) this.res.write(this.framing.heartbeat);
      this.wroteSinceHeartbeat = false;
    }, this.heartbeatMs).unref();
  }

  get writable(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  get writableLength(): number {
    return this.res.writableLength;
  }

  get bufferedAmount(): number {
    return this.res.writableLength;
  }

  get needsDrain(): boolean {
    return this.res.writableNeedDrain;
  }

  write(frames: readonly PreparedFrame[], _bytes: number, done?: () => void): void {
    const { before, after } = this.framing;
    let size = 0;
    for (const frame of frames) size += this.framedSize(frame.payload);
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (const frame of frames) {
      at += before.copy(out, at);
      at += this.copyPayload(frame.payload, out, at);
      at += after.copy(out, at);
    }
    this.wroteSinceHeartbeat = true;
    this.res.write(out, done);
  }

  /** A payload's bytes in the stream: JSON from the encoders has no raw newline, but one in SSE would end the event. */
  private framedSize(payload: Buffer): number {
    const extra = this.framing.name === 'sse' ? countNewlines(payload) * this.framing.before.length : 0;
    return this.framing.before.length + payload.length + extra + this.framing.after.length;
  }

  private copyPayload(payload: Buffer, out: Buffer, at: number): number {
    if (this.framing.name !== 'sse' || payload.indexOf(NEWLINE) < 0) return payload.copy(out, at);
    // A line break inside an event continues it on a new `data:` line; the reader joins the lines with `\n`.
    let written = 0;
    let start = 0;
    for (let end = payload.indexOf(NEWLINE); end >= 0; start = end + 1, end = payload.indexOf(NEWLINE, start)) {
      written += payload.copy(out, at + written, start, end + 1);
      written += this.framing.before.copy(out, at + written);
    }
    return written + payload.copy(out, at + written, start);
  }

  onceDrained(listener: () => void): void {
    this.res.once('drain', listener);
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
    if (this.writable) this.res.end();
  }

  terminate(): void {
    this.res.destroy();
  }

  /** A stream has no pong: a heartbeat the kernel took is the sign of life (a dead peer errors the connection). */
  ping(): void {
    if (!this.writable) return;
    this.wroteSinceHeartbeat = true;
    this.res.write(this.framing.heartbeat, (error) => {
      if (!error) this.session?.markAlive();
    });
  }
}

function countNewlines(payload: Buffer): number {
  let count = 0;
  for (let at = payload.indexOf(NEWLINE); at >= 0; at = payload.indexOf(NEWLINE, at + 1)) count++;
  return count;
}
