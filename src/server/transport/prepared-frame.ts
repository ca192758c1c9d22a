import * as ws from 'ws';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
/** ws's frame builder: a named export at run time, missing from @types/ws. */
const Sender = (ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }).Sender;

/**
 * A text frame encoded once — JSON payload and WebSocket framing — and written as the same bytes to every recipient.
 * Server frames are never masked, so one encoding is valid for every connection.
 */
export class PreparedFrame {
  /** The whole WebSocket frame: header and payload in one buffer, ready for `socket.write`. */
  readonly wire: Buffer;

  constructor(readonly payload: Buffer) {
    const parts = Sender.frame(payload, { fin: true, rsv1: false, opcode: 0x01, mask: false, readOnly: true });
    this.wire = parts.length === 1 ? parts[0]! : Buffer.concat(parts, parts[0]!.length + payload.length);
  }

  static fromString(json: string): PreparedFrame {
    return new PreparedFrame(Buffer.from(json, 'utf8'));
  }

  static fromObject(frame: object): PreparedFrame {
    return PreparedFrame.fromString(JSON.stringify(frame));
  }
}
