import { PUSHER_TERMINATED } from '../../codec/pusher-v7/close-codes.js';
import { isReservedType } from '../../../protocol/frames.js';
import { isValidUserId, MAX_SESSION_ID_LENGTH } from '../../../protocol/names.js';
import { encodeActionFrame } from '../../codec/node-frames.js';
import type { PusherAppConfig } from '../../config/schema.js';
import { pusherChannelInfo, toWsgateChannel, type PusherEventData } from '../../pusher/channel-names.js';
import type { GatewayContext } from '../context.js';
import { channelAttributes, readInfo, type ChannelAttributes, type InfoAttribute } from './pusher-channel-routes.js';
import { PusherApiError, type PusherRouter } from './pusher-request.js';

/** Pusher's limits: channels one event goes to, events one batch holds, characters of an event name. */
const MAX_EVENT_CHANNELS = 100;
const MAX_BATCH_EVENTS = 10;
const MAX_EVENT_NAME_LENGTH = 200;

/**
 * A `socket_id` is a wsgate session id: Pusher connections' ids have Pusher's `<digits>.<digits>` form, and a backend
 * of an app that also has wsgate-protocol clients may leave one of those out by its session id.
 */
const SESSION_ID = new RegExp(`^[\\x21-\\x7e]{1,${MAX_SESSION_ID_LENGTH}}$`);

/** The channel the Pusher server SDKs' `sendToUser` triggers on: it stands for the user, not for a channel. */
const USER_CHANNEL_PREFIX = '#server-to-user-';

/** One event as a request names it, checked. */
interface PusherEvent {
  name: string;
  data: string;
  channels: string[];
  socketId: string | null;
  info: ReadonlySet<InfoAttribute>;
}

/**
 * Events from backends: to channels (`events`, `batch_events`), where each becomes a publication on the channel's
 * wsgate channel with `PusherEventData` as its data and the `socket_id` session left out; to users (`users/{id}/events`,
 * and the `#server-to-user-{id}` channel the SDKs' `sendToUser` uses), where it is an action frame
 * `{type: name, payload: data}` to every session of the user; and the end of a user's connections.
 */
export function registerPusherEventRoutes(router: PusherRouter, context: GatewayContext): void {
  router.post('/events', async (_request, { app, body }) => {
    const event = readEvent(app, body, 'channels');
    const attributes = await publish(context, app, event);
    return event.info.size === 0 ? {} : { channels: Object.fromEntries(event.channels.map((channel, index) => [channel, attributes[index]!])) };
  });

  router.post('/batch_events', async (_request, { app, body }) => {
    const batch = body.batch;
    if (!Array.isArray(batch) || batch.length === 0) throw new PusherApiError(400, 'batch must be a non-empty array of events');
    if (batch.length > MAX_BATCH_EVENTS) throw new PusherApiError(400, `Batch too large: at most ${MAX_BATCH_EVENTS} events`);
    // All are checked before any is sent, so a refused batch sends nothing.
    const events = batch.map((item, index) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new PusherApiError(400, `batch[${index}] is not an event`);
      return readEvent(app, item as Record<string, unknown>, 'channel', `batch[${index}].`);
    });
    const answers: ChannelAttributes[] = [];
    for (const event of events) answers.push((await publish(context, app, event))[0]!);
    return events.some((event) => event.info.size > 0) ? { batch: answers } : {};
  });

  router.post('/users/:user/events', async (request, { app, body }) => {
    const user = userInPath(request.params);
    const event = readEvent(app, { ...body, channel: `${USER_CHANNEL_PREFIX}${user}` }, 'channel');
    await publish(context, app, event);
    return {};
  });

  router.post('/users/:user/terminate_connections', async (request) => {
    const user = userInPath(request.params);
    // Not to be retried by the client: the app ended the user's connections on purpose.
    await context.commands.disconnect({ user }, PUSHER_TERMINATED);
    return {};
  });
}

function userInPath(params: unknown): string {
  const { user } = params as { user: string };
  if (!isValidUserId(user)) throw new PusherApiError(400, 'Invalid user id');
  return user;
}

/**
 * Checks an event: a name (at most 200 characters, none of Pusher's own `pusher:` and `pusher_internal:` events),
 * a `data` string of at most the app's `maxEventBytes` (413 over it), one to 100 valid channels (`channel` or
 * `channels`; a batch item names one `channel`), an optional `socket_id` (the session left out) and `info`.
 */
function readEvent(app: PusherAppConfig, body: Record<string, unknown>, channelsFrom: 'channels' | 'channel', where = ''): PusherEvent {
  const { name, data, socket_id: socketId } = body;
  if (typeof name !== 'string' || name.length === 0) throw new PusherApiError(400, `${where}name must be a non-empty string`);
  if (name.length > MAX_EVENT_NAME_LENGTH) throw new PusherApiError(400, `${where}name is longer than ${MAX_EVENT_NAME_LENGTH} characters`);
  if (name.startsWith('pusher:') || name.startsWith('pusher_internal:')) throw new PusherApiError(400, `${where}name: pusher: and pusher_internal: events are Pusher's own`);
  if (typeof data !== 'string') throw new PusherApiError(400, `${where}data must be a string`);
  if (Buffer.byteLength(data, 'utf8') > app.maxEventBytes) throw new PusherApiError(413, `${where}data is larger than ${app.maxEventBytes} bytes`);
  if (socketId !== undefined && (typeof socketId !== 'string' || !SESSION_ID.test(socketId))) throw new PusherApiError(400, `${where}socket_id is not a socket id`);
  const channels = channelsFrom === 'channels' && body.channels !== undefined ? body.channels : body.channel === undefined ? undefined : [body.channel];
  if (!Array.isArray(channels) || channels.length === 0) throw new PusherApiError(400, `${where}${channelsFrom === 'channels' ? 'channel or channels' : 'channel'} is required`);
  if (channels.length > MAX_EVENT_CHANNELS) throw new PusherApiError(400, `${where}channels: at most ${MAX_EVENT_CHANNELS}`);
  for (const channel of channels) {
    const user = typeof channel === 'string' && channel.startsWith(USER_CHANNEL_PREFIX) ? channel.slice(USER_CHANNEL_PREFIX.length) : null;
    if (typeof channel !== 'string' || !(pusherChannelInfo(channel) || isValidUserId(user))) {
      throw new PusherApiError(400, `${where}channel ${JSON.stringify(channel)} is not a valid channel name`);
    }
    // A user event is an action frame, whose type may not be one of the wsgate protocol's frame types.
    if (user !== null && isReservedType(name)) throw new PusherApiError(400, `${where}name: "${name}" is a wsgate frame type, not an event to a user`);
  }
  return { name, data, channels: channels as string[], socketId: (socketId as string | undefined) ?? null, info: readInfo(body.info, where) };
}

/**
 * Sends an event to each of its channels (or users) at once: one channel's events keep their order, and a batch sends
 * its events one after the other. Returns the attributes `info` asked for, per channel.
 */
async function publish(context: GatewayContext, app: PusherAppConfig, event: PusherEvent): Promise<ChannelAttributes[]> {
  const dataJson = JSON.stringify({ event: event.name, data: event.data } satisfies PusherEventData);
  return Promise.all(event.channels.map(async (channel): Promise<ChannelAttributes> => {
    if (channel.startsWith(USER_CHANNEL_PREFIX)) {
      await context.commands.sendToUser(channel.slice(USER_CHANNEL_PREFIX.length), encodeActionFrame(event.name, event.data));
      return {};
    }
    const wsgateChannel = toWsgateChannel(app.id, channel)!;
    await context.commands.publishFromServer(wsgateChannel, dataJson, event.socketId);
    return event.info.size === 0 ? {} : channelAttributes(context, channel, wsgateChannel, event.info);
  }));
}
