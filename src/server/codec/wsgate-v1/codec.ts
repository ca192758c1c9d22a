/**
 * Folder wsgate-v1/: the wsgate.v1.json protocol — JSON text frames, one object per frame, `type` first. It owns the
 * client-frame decoder and validation, the server-frame encoders (publications built from templates, history pages
 * built from stored JSON), and the v1 classifier of frames that arrive as text. It imports only the codec root and
 * src/protocol/. This is also the form the node carries frames in between sessions and nodes.
 */
import type { Disconnect } from '../../../protocol/close-codes.js';
import { Subprotocol } from '../../../protocol/subprotocol.js';
import { FrameKinds } from '../frame-kinds.js';
import type { PreparedFrame } from '../prepared-frame.js';
import type { ProtocolCodec } from '../protocol-codec.js';
import { disconnectFrame } from '../server-frames.js';
import { parseClientFrame } from './client-frames.js';
import { encodeHistoryReply, encodeRecoveredReply } from './history-replies.js';
import { encodeServerFrame, prepareJson } from './server-frames.js';

export const wsgateV1: ProtocolCodec = {
  subprotocol: Subprotocol.JSON_V1,
  decode: parseClientFrame,
  encode: encodeServerFrame,
  closeCode(code: number) {
    return code;
  },
  encodeDisconnect(disconnect: Disconnect, after?: number) {
    return encodeServerFrame(disconnectFrame(disconnect, after));
  },
  encodeHistoryReply(id, channel, position, recovered, more, publications) {
    return prepareJson(encodeHistoryReply(id, channel, position, recovered, more, publications), FrameKinds.history);
  },
  encodeRecoveredReply(id, channel, position, recovered, more, publications) {
    return prepareJson(encodeRecoveredReply(id, channel, position, recovered, more, publications), FrameKinds.subscribed);
  },
  translate(frame: PreparedFrame) {
    return frame;
  },
};
