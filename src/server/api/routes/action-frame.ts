import { WsgateError } from '../../../protocol/errors.js';
import { isReservedType } from '../../../protocol/frames.js';

/**
 * The frame a backend pushes to sessions: exactly `{type, payload}` (payload null when absent). Protocol types are
 * refused, so a backend can never forge a `message` or a `disconnect`.
 */
export function encodeActionFrame(type: string, payload: unknown): string {
  if (isReservedType(type)) throw new WsgateError('ACTION_RESERVED', `"${type}" is a protocol frame type`);
  return JSON.stringify({ type, payload: payload ?? null });
}
