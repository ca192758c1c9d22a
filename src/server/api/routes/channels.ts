import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { WsgateError } from '../../../protocol/errors.js';
import type { GatewayContext } from '../context.js';
import { routeChecks } from '../route-check.js';
import { ChannelListQuery, ChannelParams, HistoryQuery, PublishBody, SubscriptionTarget } from '../schemas.js';

/** Visible ASCII, as Stripe and the IETF draft use it. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Publications, server-side subscriptions and the cluster's channels with their subscriber counts. */
export function registerChannelRoutes(api: FastifyInstance, context: GatewayContext): void {
  const { channelInBody, channelInPath } = routeChecks(context.rules);
  const ttlMs = context.config.api.idempotency.ttlSeconds * 1000;
  // Shared by the cluster's engine, so a retry that reaches another node still counts once.
  const idempotency = context.engine.idempotency;

  api.post<{ Body: Static<typeof PublishBody> }>('/publish', { schema: { body: PublishBody }, config: { check: channelInBody } }, async (request, reply) => {
    const { channel } = context.rules.resolve(request.body.channel);
    const dataJson = JSON.stringify(request.body.data ?? null);
    const publish = async () => {
      const position = await context.commands.publishFromServer(channel, dataJson);
      return { channel, offset: position.offset, epoch: position.epoch };
    };
    const key = request.headers['idempotency-key'];
    if (key === undefined) return publish();
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) throw new WsgateError('IDEMPOTENCY_KEY_INVALID');
    const fingerprint = createHash('sha256').update(channel).update('\0').update(dataJson).digest('base64url');
    const result = await idempotency.once(`publish:${key}`, fingerprint, ttlMs, publish);
    if (result.kind === 'conflict') throw new WsgateError('IDEMPOTENCY_CONFLICT');
    if (result.replayed) void reply.header('idempotent-replayed', 'true');
    return result.value;
  });

  for (const kind of ['subscribe', 'unsubscribe'] as const) {
    api.post<{ Params: Static<typeof ChannelParams>; Body: Static<typeof SubscriptionTarget> }>(
      `/channels/:channel/${kind}`,
      { schema: { params: ChannelParams, body: SubscriptionTarget }, config: { check: channelInPath } },
      async (request) => context.commands.changeSubscription(kind, request.params.channel, request.body),
    );
  }

  api.get<{ Querystring: Static<typeof ChannelListQuery> }>('/channels', { schema: { querystring: ChannelListQuery } }, async (request) => {
    const { prefix = '', cursor, limit = 1000 } = request.query;
    const page = await context.commands.listChannels(prefix, cursor, limit);
    return {
      node: context.nodeId,
      channels: page.channels.map(({ channel, subscribers }) => ({ channel, subscribers })),
      cursor: page.cursor,
    };
  });

  api.get<{ Params: Static<typeof ChannelParams> }>('/channels/:channel', { schema: { params: ChannelParams }, config: { check: channelInPath } }, async (request) => {
    const { channel, subscribers, presence, nodes } = await context.commands.channelInfo(request.params.channel);
    return { channel, node: context.nodeId, subscribers, presence, nodes };
  });

  api.get<{ Params: Static<typeof ChannelParams> }>('/channels/:channel/presence', { schema: { params: ChannelParams }, config: { check: channelInPath } }, async (request) =>
    context.commands.presence(request.params.channel));

  api.get<{ Params: Static<typeof ChannelParams>; Querystring: Static<typeof HistoryQuery> }>(
    '/channels/:channel/history',
    { schema: { params: ChannelParams, querystring: HistoryQuery }, config: { check: channelInPath } },
    async (request) => {
      const { channel, page } = await context.commands.history(request.params.channel, request.query);
      return {
        channel, offset: page.offset, epoch: page.epoch, recovered: page.recovered,
        publications: page.publications.map((publication) => ({
          offset: publication.offset,
          from: JSON.parse(publication.fromJson) as unknown,
          data: JSON.parse(publication.dataJson) as unknown,
        })),
      };
    },
  );
}
