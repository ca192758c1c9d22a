import type { RequestId, StreamPosition } from '../../../protocol/frames.js';
import type { ReplayedPublication } from '../protocol-codec.js';
import { encodeMessageFrame } from './server-frames.js';



/**
 * Encoders of the replies that carry history (`history`, and `subscribed` with recovery). Publications are embedded as
 * the JSON they were stored as, so a page is never parsed and serialised again; `publications` comes last and `more`
 * only when true (the page was cut by the reply's byte budget).
 */
export function encodeHistoryReply(
  id: RequestId, channel: string, position: StreamPosition, recovered: boolean, more: boolean, publications: readonly ReplayedPublication[],
): string {
  return `{"type":"history","id":${JSON.stringify(id)}${tail(channel, position, recovered, more, publications)}`;
}

export function encodeRecoveredReply(
  id: RequestId | undefined, channel: string, position: StreamPosition, recovered: boolean, more: boolean, publications: readonly ReplayedPublication[],
): string {
  const echo = id === undefined ? '' : `,"id":${JSON.stringify(id)}`;
  return `{"type":"subscribed"${echo}${tail(channel, position, recovered, more, publications)}`;
}

function tail(channel: string, position: StreamPosition, recovered: boolean, more: boolean, publications: readonly ReplayedPublication[]): string {
  const epoch = JSON.stringify(position.epoch);
  const messages = publications.map((publication) =>
    encodeMessageFrame(channel, publication.offset, position.epoch, publication.dataJson, publication.fromJson));
  return `,"channel":${JSON.stringify(channel)},"offset":${position.offset},"epoch":${epoch},"recovered":${recovered}${more ? ',"more":true' : ''},"publications":[${messages.join(',')}]}`;
}
