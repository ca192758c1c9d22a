import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { WsgateError } from '../../../protocol/errors.js';
import { ClusterView } from '../../cluster/cluster-view.js';
import type { SessionRecord } from '../../engine/registry/registry.js';
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
      const position = await context.channels.publishFromServer(channel, dataJson);
      context.metrics.publications.inc({ source: 'api' });
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
      async (request) => {
        const { channel } = context.rules.resolve(request.params.channel);
        const target = request.body;
        let records: SessionRecord[];
        if ('user' in target) records = await context.engine.registry.getUserSessions(target.user);
        else {
          const record = await context.engine.registry.getSession(target.session);
          if (!record) throw new WsgateError('SESSION_NOT_FOUND');
          records = [record];
        }
        const local: Array<Promise<void>> = [];
        await context.delivery.forSessions(
          records,
          (sessions) => ({ kind, channel, sessions }),
          (sessions) => {
            for (const id of sessions) {
              const session = context.hub.sessions.get(id);
              if (session) local.push(context.inbox.changeSubscription(kind, session, channel));
            }
          },
        );
        await Promise.all(local);
        return { channel, sessions: records.length };
      },
    );
  }

  const cluster = new ClusterView(context);
  api.get<{ Querystring: Static<typeof ChannelListQuery> }>('/channels', { schema: { querystring: ChannelListQuery } }, async (request) => {
    const { prefix = '', cursor, limit = 1000 } = request.query;
    const page = await cluster.channels(prefix, cursor, limit);
    return {
      node: context.nodeId,
      channels: page.channels.map(({ channel, subscribers }) => ({ channel, subscribers })),
      cursor: page.cursor,
    };
  });

  api.get<{ Params: Static<typeof ChannelParams> }>('/channels/:channel', { schema: { params: ChannelParams }, config: { check: channelInPath } }, async (request) => {
    const { channel, rules } = context.rules.resolve(request.params.channel);
    const [counts, presence] = await Promise.all([cluster.channel(channel), rules.presence ? context.engine.presence.count(channel) : null]);
    return { channel, node: context.nodeId, subscribers: counts.subscribers, presence, nodes: counts.nodes };
  });

  api.get<{ Params: Static<typeof ChannelParams> }>('/channels/:channel/presence', { schema: { params: ChannelParams }, config: { check: channelInPath } }, async (request) => {
    const { channel, rules } = context.rules.resolve(request.params.channel);
    if (!rules.presence) throw new WsgateError('PRESENCE_DISABLED');
    return { channel, members: await context.engine.presence.members(channel) };
  });

  api.get<{ Params: Static<typeof ChannelParams>; Querystring: Static<typeof HistoryQuery> }>(
    '/channels/:channel/history',
    { schema: { params: ChannelParams, querystring: HistoryQuery }, config: { check: channelInPath } },
    async (request) => {
      const { channel, rules } = context.rules.resolve(request.params.channel);
      if (rules.history.size === 0) throw new WsgateError('HISTORY_DISABLED');
      const { sinceOffset, epoch, limit } = request.query;
      if ((sinceOffset === undefined) !== (epoch === undefined)) throw new WsgateError('BODY_INVALID', 'sinceOffset and epoch go together');
      const since = sinceOffset !== undefined ? { offset: sinceOffset, epoch: epoch! } : undefined;
      const page = await context.engine.history.read(channel, { since, limit: Math.min(limit ?? rules.history.size, rules.history.size) });
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
