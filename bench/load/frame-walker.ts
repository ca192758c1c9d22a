/**
 * A WebSocket frame walker for the load generator's subscribers: it steps over server frames (RFC 6455 §5.2) in the
 * bytes a raw TCP socket hands over, across chunk boundaries, and counts text messages without copying or decoding
 * their payload. Only what must be looked at is extracted:
 *
 * - control frames (ping, close; ≤ 125 bytes by the RFC) — the caller answers pings;
 * - data frames shorter than `inspectBelow` bytes (Engine.IO's `2` ping, handshake replies): deliveries are longer;
 * - every data frame while `collectAll` is set (handshake phase, and the sampled subscribers that read timestamps).
 *
 * Server frames are unmasked; a masked one is still skipped correctly (its 4-byte key is part of the header). Fragmented
 * messages count once, on the FIN frame; their payload (when collected) is the concatenation of the fragments.
 */

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export interface FrameSink {
  /** A complete data message that was not extracted (only counted). `length` is its payload size in bytes. */
  onCounted(length: number): void;
  /** A complete data message whose payload was extracted (`collectAll`, or shorter than `inspectBelow`). */
  onMessage(payload: Buffer, opcode: number): void;
  /** A control frame (ping, pong, close) with its payload. */
  onControl(opcode: number, payload: Buffer): void;
}

const EMPTY = Buffer.alloc(0);

export class FrameWalker {
  /** Extract every data message (instead of only counting it). */
  collectAll = false;

  /** Payload bytes of the current frame still to come (skipped or collected). */
  private remaining = 0;
  /** A header split across chunks is assembled here (at most 2 + 8 + 4 bytes). */
  private readonly header = new Uint8Array(14);
  private headerHave = 0;
  private headerNeed = 2;
  /** Opcode and FIN of the current frame; the data opcode of the message a continuation belongs to. */
  private opcode = 0;
  private fin = false;
  private messageOpcode = 0;
  /** Whether the current data message's payload is being collected, and the pieces so far (copied: chunks are reused). */
  private collecting = false;
  private pieces: Buffer[] = [];
  private controlPieces: Buffer[] = [];
  private messageLength = 0;

  constructor(
    private readonly sink: FrameSink,
    /** Data messages shorter than this are extracted and passed to `onMessage` even when not `collectAll`. */
    private readonly inspectBelow = 0,
  ) {}

  /**
   * Walk `bytes[start, end)`. The bytes are not retained (the caller may reuse the buffer): collected payload is copied.
   */
  push(bytes: Uint8Array, start = 0, end = bytes.length): void {
    let i = start;
    while (i < end) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, end - i);
        if (this.opcode >= 0x8) this.controlPieces.push(Buffer.from(bytes.subarray(i, i + take)));
        else if (this.collecting) this.pieces.push(Buffer.from(bytes.subarray(i, i + take)));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endFrame();
        continue;
      }
      if (this.headerHave === 0 && end - i >= 2) {
        // Fast path: the whole header is in this chunk.
        const size = headerSize(bytes[i + 1]!);
        if (end - i >= size) {
          this.beginFrame(bytes, i);
          i += size;
          continue;
        }
      }
      // Slow path: assemble the header byte by byte across chunks.
      this.header[this.headerHave++] = bytes[i++]!;
      if (this.headerHave === 2) this.headerNeed = headerSize(this.header[1]!);
      if (this.headerHave >= 2 && this.headerHave === this.headerNeed) {
        this.beginFrame(this.header, 0);
        this.headerHave = 0;
        this.headerNeed = 2;
      }
    }
  }

  private beginFrame(h: Uint8Array, at: number): void {
    const b0 = h[at]!;
    const b1 = h[at + 1]!;
    this.fin = (b0 & 0x80) !== 0;
    this.opcode = b0 & 0x0f;
    let length = b1 & 0x7f;
    if (length === 126) {
      length = (h[at + 2]! << 8) | h[at + 3]!;
    } else if (length === 127) {
      // 64-bit length; JavaScript numbers hold 2^53 exactly, far beyond any frame a server here sends.
      length = (h[at + 2]! * 2 ** 24 + (h[at + 3]! << 16) + (h[at + 4]! << 8) + h[at + 5]!) * 2 ** 32 +
        (h[at + 6]! * 2 ** 24 + (h[at + 7]! << 16) + (h[at + 8]! << 8) + h[at + 9]!);
    }
    const control = this.opcode >= 0x8;
    if (!control) {
      if (this.opcode !== OP_CONTINUATION) {
        this.messageOpcode = this.opcode;
        this.messageLength = 0;
        // Decided per message, on its first frame: collect everything, or only what is short enough to be a control
        // packet of the application protocol (a fragmented message is judged by its first fragment).
        this.collecting = this.collectAll || (length < this.inspectBelow && this.fin);
        this.pieces = [];
      }
      this.messageLength += length;
    } else {
      this.controlPieces = [];
    }
    this.remaining = length;
    if (length === 0) this.endFrame();
  }

  private endFrame(): void {
    const opcode = this.opcode;
    if (opcode >= 0x8) {
      // A control frame may sit between the fragments of a data message; its payload is kept apart.
      const payload = joined(this.controlPieces);
      this.controlPieces = [];
      this.sink.onControl(opcode, payload);
      return;
    }
    if (!this.fin) return;
    if (this.collecting) {
      const payload = joined(this.pieces);
      this.pieces = [];
      this.sink.onMessage(payload, this.messageOpcode);
    } else {
      this.sink.onCounted(this.messageLength);
    }
  }
}

/** Header size in bytes given its second byte: 2, plus 2 or 8 for the extended length, plus 4 for a mask key. */
function headerSize(b1: number): number {
  const length = b1 & 0x7f;
  return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}

function joined(pieces: Buffer[]): Buffer {
  return pieces.length === 0 ? EMPTY : pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

/**
 * A client frame (clients must mask, RFC 6455 §5.3): FIN set, the given opcode, a random mask key, masked payload.
 */
export function clientFrame(opcode: number, payload: Buffer, maskKey: Uint8Array): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + extended + 4 + length);
  frame[0] = 0x80 | opcode;
  let at = 2;
  if (extended === 0) {
    frame[1] = 0x80 | length;
  } else if (extended === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
    at = 4;
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
    at = 10;
  }
  frame.set(maskKey.subarray(0, 4), at);
  at += 4;
  for (let k = 0; k < length; k++) frame[at + k] = payload[k]! ^ maskKey[k & 3]!;
  return frame;
}

/** A complete server frame (unmasked), for tests and for anyone who needs to produce one. */
export function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + extended);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (extended === 0) head[1] = length;
  else if (extended === 2) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 127;
    head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    head.writeUInt32BE(length >>> 0, 6);
  }
  return Buffer.concat([head, payload]);
}
