import type { StreamPosition } from '../../protocol/frames.js';
import { FrameKinds } from './frame-kinds.js';
import { PreparedFrame } from './prepared-frame.js';

/**
 * Frames as the node carries them between sessions and nodes: wsgate.v1.json bytes, with their metadata. A session's
 * codec translates them into its own protocol (`ProtocolCodec.translate`).
 */
export { encodeServerFrame as encodeNodeFrame, encodeMessageFrame, encodeSender, messageFrameTemplate } from './wsgate-v1/server-frames.js';
export { encodeActionFrame } from './wsgate-v1/action-frame.js';

/** A channel publication's frame: the message bytes the broker carried, prepared once for every subscriber. */
export function publicationFrame(bytes: Buffer, position: StreamPosition): PreparedFrame {
  return new PreparedFrame(bytes, FrameKinds.message, position);
}
