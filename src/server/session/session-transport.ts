import type { PreparedFrame } from '../codec/prepared-frame.js';

/** The transports that carry sessions: a WebSocket, a Server-Sent Events response, a chunked stream of JSON lines. */
export type TransportName = 'websocket' | 'sse' | 'http-stream';

/**
 * What a connection must offer a session, whatever carries it (a WebSocket, or a streaming HTTP response: SSE or JSON lines): write
 * prepared frames, say how much it still holds, tell when it drained, close, drop, probe liveness. Implementations live
 * in src/server/transport/; they also tell the session what arrives and when the connection closed.
 */
export interface SessionTransport {
  /** The transport's name, as the admin console shows it. */
  readonly name: TransportName;
  /** True while frames can still be written (the connection is open). */
  readonly writable: boolean;
  /** Bytes handed to the connection that the kernel has not taken yet; they count toward the slow-consumer bound. */
  readonly writableLength: number;
  /** Bytes waiting to go out, including what the transport has still to frame or compress; flushes stay below a watermark of it. */
  readonly bufferedAmount: number;
  /** True after a write the connection could not take at once: `onceDrained` fires when it has. */
  readonly needsDrain: boolean;
  /** Writes the frames in order, `bytes` being the sum of their wire sizes; `done` runs once they left the process. */
  write(frames: readonly PreparedFrame[], bytes: number, done?: () => void): void;
  onceDrained(listener: () => void): void;
  /** Starts the closing handshake with a close code and reason (a connection already closing is left alone). */
  close(code: number, reason: string): void;
  /** Drops the connection at once, without a closing handshake. */
  terminate(): void;
  /** Asks the peer for a sign of life (a WebSocket ping); its answer reaches `Session.markAlive`. */
  ping(): void;
}
