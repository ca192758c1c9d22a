import * as ws from 'ws';
import type { LostFrame, StreamPosition } from '../../protocol/frames.js';
import type { FrameKind } from './frame-kinds.js';

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
 * A text frame encoded once — payload and WebSocket framing — and written as the same bytes to every recipient.
 * Server frames are never masked, so one encoding is valid for every connection.
 *
 * The encoder that made it records what readers need, so nobody reads the bytes back: its `kind` (traffic metrics),
 * the stream `position` of a channel publication (a session skips what its subscribe reply already covered), the
 * range of a `lost` frame (clipped to a session's floor). Set once per frame, shared by every recipient.
 */
export class PreparedFrame {
  /** The whole WebSocket frame: header and payload in one buffer, ready for `socket.write`. */
  readonly wire: Buffer;

  constructor(
    readonly payload: Buffer,
    readonly kind: FrameKind,
    /** A channel publication's place in its stream; null for every other frame. */
    readonly position: StreamPosition | null = null,
    /** What a `lost` frame announces; null for every other frame. */
    readonly lost: LostFrame | null = null,
    /** The user a presence event (a member added or removed) is about, where the codec's session keeps a view of members. */
    readonly member: string | null = null,
  ) {
    const parts = Sender.frame(payload, { fin: true, rsv1: false, opcode: 0x01, mask: false, readOnly: true });
    this.wire = parts.length === 1 ? parts[0]! : Buffer.concat(parts, parts[0]!.length + payload.length);
  }

  /** The frame's conversion into another protocol, made once and shared by every recipient that speaks it. */
  private translation?: { protocol: string; audience: string | null; frame: PreparedFrame | null };

  /**
   * This frame in `protocol` for `audience` (the channel or recipient the conversion depends on): `make` runs on the
   * first request, later requests for the same protocol and audience share its result. One slot, since a frame goes
   * to one channel's subscribers (one audience) and wsgate speaks one protocol besides its own.
   */
  translatedInto(protocol: string, audience: string | null, make: () => PreparedFrame | null): PreparedFrame | null {
    const cached = this.translation;
    if (cached && cached.protocol === protocol && cached.audience === audience) return cached.frame;
    const frame = make();
    this.translation = { protocol, audience, frame };
    return frame;
  }
}

/**
 * Several prepared frames as one buffer, for one socket write. In a burst, the sessions of a channel flush the same
 * frames in the same order in one turn, so the last batch built is kept and handed to every following session whose
 * frames are identical (the same `PreparedFrame` objects, in order) instead of copying them again for each: every
 * socket then writes one shared buffer, which also stays in the cache the kernel copies it from.
 *
 * The node's flush turn clears it when it ends, so a batch is held no longer than the turn that shares it.
 */
export class FrameBatches {
  private frames: PreparedFrame[] = [];
  private buffer: Buffer | null = null;
  /** The array the last batch was built from, and its length then: the sessions riding one channel run pass the same one. */
  private source: readonly PreparedFrame[] | null = null;
  private sourceLength = 0;

  /**
   * The frames' wire bytes in one buffer; `bytes` is the sum of their wire sizes. The buffer must not be modified. An
   * array passed again may only have grown since (a channel run is append-only; a session's queue is replaced, never
   * refilled).
   */
  concat(frames: readonly PreparedFrame[], bytes: number): Buffer {
    const last = this.buffer;
    if (last !== null && last.length === bytes) {
      if (this.source === frames && this.sourceLength === frames.length) return last;
      if (sameFrames(this.frames, frames)) return last;
    }
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const frame of frames) at += frame.wire.copy(out, at);
    // A copy of the list: the caller's array may be reused once written.
    this.frames = frames.slice();
    this.buffer = out;
    this.source = frames;
    this.sourceLength = frames.length;
    return out;
  }

  clear(): void {
    if (this.buffer === null) return;
    this.frames = [];
    this.buffer = null;
    this.source = null;
  }
}

function sameFrames(a: readonly PreparedFrame[], b: readonly PreparedFrame[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
