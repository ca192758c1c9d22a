import type { ServerFrame } from '../../../protocol/frames.js';
import { FrameKinds, kindOfType } from '../frame-kinds.js';
import { PreparedFrame } from '../prepared-frame.js';

/** Encodes a server frame as wsgate.v1.json, recording its kind (and the position or range readers need). */
export function encodeServerFrame(frame: ServerFrame): PreparedFrame {
  const payload = Buffer.from(JSON.stringify(frame), 'utf8');
  switch (frame.type) {
    case 'message':
      return new PreparedFrame(payload, FrameKinds.message, { offset: frame.offset, epoch: frame.epoch });
    case 'lost':
      return new PreparedFrame(payload, FrameKinds.lost, null, frame);
    default:
      return new PreparedFrame(payload, kindOfType(frame.type));
  }
}

/** A frame of a known kind that is JSON text already (an application action, a history page). */
export function prepareJson(json: string, kind: number): PreparedFrame {
  return new PreparedFrame(Buffer.from(json, 'utf8'), kind);
}

/**
 * Encoders for frames built on the hot path. A publication's frame is concatenated from parts that are JSON already
 * (the data as the publisher sent it, the sender), so the payload is never re-serialised.
 */
export function encodeMessageFrame(channel: string, offset: number, epoch: string, dataJson: string, fromJson: string): string {
  const template = messageFrameTemplate(channel, dataJson, fromJson);
  return `${template.beforeOffset}${offset}${template.beforeEpoch}${JSON.stringify(epoch).slice(1, -1)}${template.afterEpoch}`;
}

/**
 * The message frame around its offset and epoch, for the engine step that assigns them: the frame is
 * `beforeOffset + offset + beforeEpoch + epoch + afterEpoch` (epochs need no escaping), the bytes of `encodeMessageFrame`.
 */
export function messageFrameTemplate(channel: string, dataJson: string, fromJson: string): { beforeOffset: string; beforeEpoch: string; afterEpoch: string } {
  return {
    beforeOffset: `{"type":"message","channel":${JSON.stringify(channel)},"offset":`,
    beforeEpoch: ',"epoch":"',
    afterEpoch: `","from":${fromJson},"data":${dataJson}}`,
  };
}

export function encodeSender(user: string | null, session: string): string {
  return JSON.stringify({ user, session });
}
