import type { StreamPosition } from '../../src/protocol/frames.js';
import { encodeChannelEnvelope } from '../../src/server/codec/broker-envelope.js';
import { encodeMessageFrame } from '../../src/server/codec/wsgate-v1/server-frames.js';
import type { RunningGateway } from './gateway.js';

/**
 * The broker message of a publication already appended to the channel's stream arrives at the node, as the broker
 * would hand it over (`exclude`: the publishing session). Synchronous, so a test can put several in one turn.
 */
export function arrive(running: RunningGateway, channel: string, position: StreamPosition, exclude: string | null = null): void {
  const frame = Buffer.from(encodeMessageFrame(channel, position.offset, position.epoch, '{}', 'null'));
  running.gateway.node.onChannelMessage(channel, encodeChannelEnvelope(frame, exclude, position));
}
