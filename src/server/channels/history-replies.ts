import type { RequestId, StreamPosition } from '../../protocol/frames.js';
import type { StoredPublication } from '../engine/history/history.js';
import { encodeMessageFrame } from '../session/server-frames.js';

type Replayed = StoredPublication & { offset: number };

/**
 * Encoders of the replies that carry history (`history`, and `subscribed` with recovery). Publications are embedded as
 * the JSON they were stored as, so a page is never parsed and serialised again; `publications` comes last and `more`
 * only when true (the page was cut by the reply's byte budget).
 */
export function encodeHistoryReply(
  id: RequestId, channel: string, position: StreamPosition, recovered: boolean, more: boolean, publications: readonly Replayed[],
): string {
  return `{"type":"history","id":${JSON.stringify(id)}${tail(channel, position, recovered, more, publications)}`;
}

export function encodeRecoveredReply(
  id: RequestId | undefined, channel: string, position: StreamPosition, recovered: boolean, more: boolean, publications: readonly Replayed[],
): string {
  const echo = id === undefined ? '' : `,"id":${JSON.stringify(id)}`;
  return `{"type":"subscribed"${echo}${tail(channel, position, recovered, more, publications)}`;
}

function tail(channel: string, position: StreamPosition, recovered: boolean, more: boolean, publications: readonly Replayed[]): string {
  const epoch = JSON.stringify(position.epoch);
  const messages = publications.map((publication) =>
    encodeMessageFrame(channel, publication.offset, position.epoch, publication.dataJson, publication.fromJson));
  return `,"channel":${JSON.stringify(channel)},"offset":${position.offset},"epoch":${epoch},"recovered":${recovered}${more ? ',"more":true' : ''},"publications":[${messages.join(',')}]}`;
}
