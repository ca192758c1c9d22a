import { pusherNamespaceName } from '../../config/pusher-namespaces.js';
import type { PusherAppConfig } from '../../config/schema.js';
import { pusherChannelInfo, toWsgateChannel } from '../../pusher/channel-names.js';
import type { GatewayContext } from '../context.js';
import { PusherApiError, type PusherRouter } from './pusher-request.js';

/** The channel attributes a request may ask for with `info`. */
export type InfoAttribute = 'user_count' | 'subscription_count';

/** A channel's attributes as Pusher answers them (only those asked for). */
export interface ChannelAttributes {
  user_count?: number;
  subscription_count?: number;
}

const INFO_ATTRIBUTES: readonly InfoAttribute[] = ['user_count', 'subscription_count'];

/** Channels read from the cluster's channel counts per page while listing an app's channels. */
const LIST_PAGE = 1_000;

/**
 * The app's channels as the cluster sees them: the occupied ones (`filter_by_prefix`), one channel's occupancy and
 * counts, a presence channel's members. Subscriber counts are cluster-wide (the channel counts every node reports,
 * as `/api/channels` reads them); `user_count` is the presence store's count of distinct users.
 */
export function registerPusherChannelRoutes(router: PusherRouter, context: GatewayContext): void {
  router.get('/channels', async (request, { app }) => {
    const query = request.query as Record<string, unknown>;
    const prefix = typeof query.filter_by_prefix === 'string' ? query.filter_by_prefix : '';
    const info = readInfo(query.info);
    if (info.has('user_count') && !prefix.startsWith('presence-')) throw new PusherApiError(400, 'user_count may only be asked for presence channels (filter_by_prefix=presence-)');
    const channels: Record<string, ChannelAttributes> = {};
    for (const { name, channel, subscribers } of await occupiedChannels(context, app, prefix)) {
      const attributes: ChannelAttributes = {};
      if (info.has('user_count')) attributes.user_count = (await context.commands.channelInfo(channel)).presence ?? 0;
      if (info.has('subscription_count')) attributes.subscription_count = subscribers;
      channels[name] = attributes;
    }
    return { channels };
  });

  router.get('/channels/:name', async (request, { app }) => {
    const { name, channel, presence } = channelInPath(app, request.params);
    const info = readInfo((request.query as Record<string, unknown>).info);
    if (info.has('user_count') && !presence) throw new PusherApiError(400, 'user_count is only for presence channels');
    const counts = await context.commands.channelInfo(channel);
    return { occupied: counts.subscribers > 0, ...(await channelAttributes(context, name, channel, info, counts)) };
  });

  router.get('/channels/:name/users', async (request, { app }) => {
    const { channel, presence } = channelInPath(app, request.params);
    if (!presence) throw new PusherApiError(400, 'Users are only listed for presence channels');
    const { members } = await context.commands.presence(channel);
    return { users: members.map((member) => ({ id: member.user })) };
  });
}

/** `info=user_count,subscription_count` as a set; an attribute Pusher does not know is refused. */
export function readInfo(value: unknown, where = ''): ReadonlySet<InfoAttribute> {
  if (value === undefined || value === '') return new Set();
  if (typeof value !== 'string') throw new PusherApiError(400, `${where}info must be a comma-separated list`);
  const attributes = new Set<InfoAttribute>();
  for (const attribute of value.split(',')) {
    if (!INFO_ATTRIBUTES.includes(attribute as InfoAttribute)) throw new PusherApiError(400, `${where}info: unknown attribute ${JSON.stringify(attribute)}`);
    attributes.add(attribute as InfoAttribute);
  }
  return attributes;
}

/** The attributes `info` asks for of one channel; `user_count` only where the channel is a presence channel. */
export async function channelAttributes(
  context: GatewayContext,
  name: string,
  channel: string,
  info: ReadonlySet<InfoAttribute>,
  known?: { subscribers: number; presence: number | null },
): Promise<ChannelAttributes> {
  if (info.size === 0) return {};
  const counts = known ?? (await context.commands.channelInfo(channel));
  const attributes: ChannelAttributes = {};
  if (info.has('user_count') && pusherChannelInfo(name)?.kind === 'presence') attributes.user_count = counts.presence ?? 0;
  if (info.has('subscription_count')) attributes.subscription_count = counts.subscribers;
  return attributes;
}

function channelInPath(app: PusherAppConfig, params: unknown): { name: string; channel: string; presence: boolean } {
  const { name } = params as { name: string };
  const info = pusherChannelInfo(name);
  if (!info) throw new PusherApiError(400, 'Invalid channel name');
  return { name, channel: toWsgateChannel(app.id, name)!, presence: info.kind === 'presence' };
}

/**
 * The app's occupied channels whose Pusher names start with `prefix`, from the four namespaces that carry them; a
 * wsgate channel counts only where its name maps back onto the same namespace (a name is in exactly one of them).
 */
async function occupiedChannels(context: GatewayContext, app: PusherAppConfig, prefix: string): Promise<Array<{ name: string; channel: string; subscribers: number }>> {
  const found: Array<{ name: string; channel: string; subscribers: number }> = [];
  for (const presence of [false, true]) {
    for (const cache of [false, true]) {
      const namespacePrefix = `${pusherNamespaceName(app.id, { presence, cache })}:`;
      let cursor: string | undefined;
      do {
        const page = await context.commands.listChannels(namespacePrefix + prefix, cursor, LIST_PAGE);
        for (const { channel, subscribers } of page.channels) {
          const name = channel.slice(namespacePrefix.length);
          if (subscribers > 0 && toWsgateChannel(app.id, name) === channel) found.push({ name, channel, subscribers });
        }
        cursor = page.cursor ?? undefined;
      } while (cursor !== undefined);
    }
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
