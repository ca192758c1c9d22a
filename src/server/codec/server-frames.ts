import { shouldReconnect, type Disconnect } from '../../protocol/close-codes.js';
import { WsgateError } from '../../protocol/errors.js';
import type { DisconnectFrame, ErrorFrame, RequestId } from '../../protocol/frames.js';

/** The `error` frame of a failure: its catalogue code and message (INTERNAL for anything that is not a WsgateError). */
export function errorFrame(error: unknown, id?: RequestId): ErrorFrame {
  const wsgateError = error instanceof WsgateError ? error : new WsgateError('INTERNAL');
  const frame: ErrorFrame = { type: 'error', code: wsgateError.code, message: wsgateError.message };
  if (id !== undefined) frame.id = id;
  if (wsgateError.retryAfter !== undefined) frame.retryAfter = wsgateError.retryAfter;
  return frame;
}

/** The `disconnect` frame: `reconnect` follows from the code's range, `after` is a reconnect hint in milliseconds. */
export function disconnectFrame(disconnect: Disconnect, after?: number): DisconnectFrame {
  const frame: DisconnectFrame = { type: 'disconnect', code: disconnect.code, reason: disconnect.reason, reconnect: shouldReconnect(disconnect.code) };
  if (after !== undefined) frame.after = after;
  return frame;
}
