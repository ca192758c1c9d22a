import { monotonicUs } from '../metrics.js';

/** Every target carries the same 64-byte application payload. */
export const PAYLOAD_BYTES = 64;

/**
 * `~t<µs>|<seq>|` padded to 64 ASCII bytes. The `~t` marker lets a sampled subscriber find the timestamp with one
 * indexOf in any envelope (raw text, Socket.IO event array, wsgate JSON) without parsing the frame. Plain ASCII, so it
 * needs no JSON escaping when wrapped.
 */
export function makePayload(seq: number): string {
  const head = `~t${monotonicUs()}|${seq}|`;
  return head.padEnd(PAYLOAD_BYTES, '.');
}

const MARKER = '~t';

/** The publish timestamp embedded in a frame or payload, or undefined when there is none. */
export function readTimestampUs(frame: string | Buffer): number | undefined {
  const text = typeof frame === 'string' ? frame : frame.toString('latin1');
  const start = text.indexOf(MARKER);
  if (start < 0) return undefined;
  const end = text.indexOf('|', start);
  const value = Number(text.slice(start + MARKER.length, end));
  return Number.isFinite(value) ? value : undefined;
}
