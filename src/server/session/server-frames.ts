import type { DisconnectFrame, ErrorFrame, RequestId } from '../../protocol/frames.js';
import { WsgateError } from '../../protocol/errors.js';

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

export function errorFrame(error: unknown, id?: RequestId): ErrorFrame {
  const wsgateError = error instanceof WsgateError ? error : new WsgateError('INTERNAL');
  const frame: ErrorFrame = { type: 'error', code: wsgateError.code, message: wsgateError.message };
  if (id !== undefined) frame.id = id;
  if (wsgateError.retryAfter !== undefined) frame.retryAfter = wsgateError.retryAfter;
  return frame;
}

export function disconnectFrame(code: number, reason: string, reconnect: boolean, after?: number): DisconnectFrame {
  const frame: DisconnectFrame = { type: 'disconnect', code, reason, reconnect };
  if (after !== undefined) frame.after = after;
  return frame;
}

/** A close reason fits the 123 bytes a close frame allows, cut on a character boundary. */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = reason.slice(0, 123);
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1);
  return cut;
}
