import { WsgateError } from '../../../protocol/errors.js';
import { isReservedType } from '../../../protocol/frames.js';
import { FrameKinds } from '../frame-kinds.js';
import type { PreparedFrame } from '../prepared-frame.js';
import { prepareJson } from './server-frames.js';

/**
 * The frame a backend pushes to sessions: exactly `{type, payload}` (payload null when absent). Protocol types are
 * refused, so a backend can never forge a `message` or a `disconnect`.
 */
export function encodeActionFrame(type: string, payload: unknown): PreparedFrame {
  if (isReservedType(type)) throw new WsgateError('ACTION_RESERVED', `"${type}" is a protocol frame type`);
  return prepareJson(JSON.stringify({ type, payload: payload ?? null }), FrameKinds.action);
}
