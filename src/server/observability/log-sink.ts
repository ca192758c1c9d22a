import { fstatSync, write } from 'node:fs';
import { Socket } from 'node:net';

/** Log bytes held while the reader is slower than the node; beyond this, lines are dropped (and counted). */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** A descriptor that is not ready (EAGAIN) is tried again after this. */
const RETRY_MS = 50;

/**
 * Where the node's log lines go (stdout by default). Writes are asynchronous, so a slow reader never blocks the event
 * loop; bounded, so a stalled one costs at most 8 MiB (later lines are dropped and counted); and failure-proof — when
 * the reader is gone (`wsgate serve | head -2`: EPIPE) or the descriptor is bad, logging stops and the node carries
 * on. Nothing here ever holds up drain or exit: `flush` waits at most as long as it is told.
 *
 * pino's default destination (sonic-boom) flushes synchronously at exit and retries a write that failed with EPIPE
 * forever, so a node whose stdout reader had gone never exited.
 */
export interface LogSink {
  /** pino's destination interface: one call per log line. */
  write(line: string): boolean;
  /** Resolves once what is pending is written, the sink has given up, or `timeoutMs` has passed. */
  flush(timeoutMs: number): Promise<void>;
  /** Lines dropped because the reader fell too far behind. */
  readonly dropped: number;
}

/**
 * A pipe or socket (`| head`, journald, a container runtime): a non-blocking stream, so not even process exit waits
 * for a reader that stopped reading.
 */
class StreamLogSink implements LogSink {
  dropped = 0;
  private broken = false;
  private readonly stream: Socket;

  constructor(fd: number) {
    this.stream = new Socket({ fd, readable: false, writable: true });
    this.stream.on('error', () => {
      this.broken = true;
      this.stream.destroy();
    });
  }

  write(line: string): boolean {
    if (this.broken) return true;
    if (this.stream.writableLength > MAX_PENDING_BYTES) this.dropped++;
    else this.stream.write(line);
    return true;
  }

  flush(timeoutMs: number): Promise<void> {
    if (this.broken || this.stream.writableLength === 0) return Promise.resolve();
    return settleWithin(timeoutMs, (done) => {
      this.stream.once('drain', done);
      this.stream.once('close', done);
    });
  }
}

/** A file or terminal: written with `fs.write` off the event loop, one chunk at a time, in order. */
class FileLogSink implements LogSink {
  dropped = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writing = false;
  private broken = false;
  private idle: Array<() => void> = [];

  constructor(private readonly fd: number) {}

  write(line: string): boolean {
    if (this.broken) return true;
    const bytes = Buffer.from(line, 'utf8');
    if (this.pendingBytes + bytes.length > MAX_PENDING_BYTES) {
      this.dropped++;
      return true;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (!this.writing) this.writeNext();
    return true;
  }

  flush(timeoutMs: number): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return settleWithin(timeoutMs, (done) => this.idle.push(done));
  }

  private writeNext(): void {
    if (this.pending.length === 0 || this.broken) {
      this.writing = false;
      for (const done of this.idle.splice(0)) done();
      return;
    }
    this.writing = true;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.writeChunk(chunk);
  }

  private writeChunk(chunk: Buffer): void {
    write(this.fd, chunk, 0, chunk.length, null, (error, written) => {
      if (error?.code === 'EAGAIN') {
        setTimeout(() => this.writeChunk(chunk), RETRY_MS).unref();
        return;
      }
      if (error) {
        // The descriptor is unusable: there is nobody to tell.
        this.broken = true;
        this.pending = [];
        this.pendingBytes = 0;
      } else if (written < chunk.length) {
        this.writeChunk(chunk.subarray(written));
        return;
      }
      this.writeNext();
    });
  }
}

function settleWithin(timeoutMs: number, register: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    register(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The sink for a descriptor, by what it is. */
export function logSinkFor(fd: number): LogSink {
  let stream = false;
  try {
    const stats = fstatSync(fd);
    stream = stats.isFIFO() || stats.isSocket();
  } catch {
    // A closed descriptor: the file sink fails on its first write and stops.
  }
  return stream ? new StreamLogSink(fd) : new FileLogSink(fd);
}

/**
 * Opens its descriptor's sink with the first line: a process whose loggers never write (level `silent`, tests) keeps
 * its stdout exactly as it was.
 */
class LazyLogSink implements LogSink {
  private sink?: LogSink;

  constructor(private readonly fd: number) {}

  write(line: string): boolean {
    return (this.sink ??= logSinkFor(this.fd)).write(line);
  }

  flush(timeoutMs: number): Promise<void> {
    return this.sink ? this.sink.flush(timeoutMs) : Promise.resolve();
  }

  get dropped(): number {
    return this.sink?.dropped ?? 0;
  }
}

let stdoutSink: LogSink | undefined;

/** The process's one sink for stdout, shared by every logger that writes there. */
export function stdoutLogSink(): LogSink {
  return (stdoutSink ??= new LazyLogSink(1));
}
