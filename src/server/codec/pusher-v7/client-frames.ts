import { WsgateError } from '../../../protocol/errors.js';

/**
 * What a Pusher client sends, as the node's Pusher component handles it. Event names and fields are Pusher's; `data`
 * of a client event is kept as the JSON text Pusher relays (a string stays a string, anything else is its JSON).
 */
export type PusherRequest =
  /** `pusher:pong`, or a `pusher:` event the protocol does not define: Pusher ignores them. */
  | { event: 'ignored' }
  | { event: 'pusher:ping' }
  | { event: 'pusher:subscribe'; channel: string; auth?: string; channelData?: string }
  | { event: 'pusher:unsubscribe'; channel: string }
  | { event: 'pusher:signin'; auth: string; userData: string }
  | { event: 'client'; name: string; channel: string; data: string };

/** Client events are the only events a client may name itself; Pusher's own start with `pusher:`. */
const CLIENT_EVENT_PREFIX = 'client-';

/**
 * Reads one Pusher client frame, `{"event", "data", "channel"?}`. `data` of `pusher:` events is an object (or its JSON
 * text, as older clients send it). Throws BAD_FRAME for text that is not JSON, BAD_REQUEST for a frame of the wrong shape.
 */
export function parsePusherFrame(text: string): PusherRequest {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    throw new WsgateError('BAD_FRAME');
  }
  if (typeof frame !== 'object' || frame === null || typeof (frame as { event?: unknown }).event !== 'string') {
    throw new WsgateError('BAD_REQUEST', 'a Pusher frame is an object with an "event"');
  }
  const { event, channel, data } = frame as { event: string; channel?: unknown; data?: unknown };
  if (event.startsWith(CLIENT_EVENT_PREFIX)) {
    if (typeof channel !== 'string') throw new WsgateError('BAD_REQUEST', 'a client event names its channel');
    return { event: 'client', name: event, channel, data: typeof data === 'string' ? data : JSON.stringify(data ?? null) };
  }
  switch (event) {
    case 'pusher:ping':
      return { event };
    case 'pusher:subscribe': {
      const fields = dataObject(data);
      const subscription: PusherRequest = { event, channel: stringField(fields, 'channel') };
      if (typeof fields.auth === 'string') subscription.auth = fields.auth;
      if (fields.channel_data !== undefined) {
        subscription.channelData = typeof fields.channel_data === 'string' ? fields.channel_data : JSON.stringify(fields.channel_data);
      }
      return subscription;
    }
    case 'pusher:unsubscribe':
      return { event, channel: stringField(dataObject(data), 'channel') };
    case 'pusher:signin': {
      const fields = dataObject(data);
      return { event, auth: stringField(fields, 'auth'), userData: stringField(fields, 'user_data') };
    }
    default:
      return { event: 'ignored' };
  }
}

function dataObject(data: unknown): Record<string, unknown> {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new WsgateError('BAD_REQUEST', 'the event data is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WsgateError('BAD_REQUEST', 'the event data is not an object');
  return value as Record<string, unknown>;
}

function stringField(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (typeof value !== 'string') throw new WsgateError('BAD_REQUEST', `the event data has no "${name}"`);
  return value;
}
