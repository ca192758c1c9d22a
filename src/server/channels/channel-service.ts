import { WsgateError } from '../../protocol/errors.js';
import type {
  HistoryFrame, MessageFrame, PresenceFrame, RequestId, StreamPosition, SubscribedFrame,
} from '../../protocol/frames.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { HistoryPage } from '../engine/history/history.js';
import type { PresenceLeave } from '../engine/presence/presence.js';
import type { DeliveryService } from '../hub/delivery.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { GrantedSubscription, Session } from '../session/session.js';
import { encodeSender } from '../session/server-frames.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';
import type { ChannelRules, ResolvedChannel } from './channel-rules.js';

/**
 * Subscriptions, publications, presence and history for sessions. Channels appear with their first subscriber and
 * vanish with the last (the hub drops the local index and broker subscription; presence empties itself).
 */
export class ChannelService {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly rules: ChannelRules,
    private readonly engine: Engine,
    private readonly hub: Hub,
    private readonly delivery: DeliveryService,
    private readonly nodeId: string,
    private readonly logger: Logger,
    private readonly events: LifecycleEvents,
  ) {}

  /**
   * `trusted` subscriptions come from a backend (server API) and skip the namespace's permission check; so do those a
   * subscription token granted, which keep the grant for the channel's other actions.
   */
  async subscribe(session: Session, channelName: unknown, id: RequestId | undefined, recover?: StreamPosition, trusted: boolean | GrantedSubscription = false): Promise<void> {
    const resolved = this.rules.resolve(channelName);
    if (!trusted) await this.rules.assertAccess(resolved, session.identity, session.id, 'subscribe');
    // The access check may have waited for a backend; a session that ended meanwhile must not be indexed again.
    if (session.closing) return;
    const { channel, rules } = resolved;
    if (session.subscriptions.has(channel)) throw new WsgateError('ALREADY_SUBSCRIBED');
    if (session.subscriptions.size >= this.config.limits.maxSubscriptionsPerSession) throw new WsgateError('TOO_MANY_SUBSCRIPTIONS');
    if (rules.maxSubscribers > 0 && this.hub.subscriberCount(channel) >= rules.maxSubscribers) throw new WsgateError('CHANNEL_FULL');

    // Live frames are buffered from here until the reply is queued, so nothing falls between history and live.
    session.subscriptions.set(channel, typeof trusted === 'object' ? { pending: [], namespace: resolved.namespace, grant: trusted } : { pending: [], namespace: resolved.namespace });
    try {
      await this.hub.addSubscriber(channel, session);
      const reply = await this.subscribedReply(resolved, id, recover);
      if (session.closing || !session.subscriptions.has(channel)) return;
      // The reply's position is the session's floor: nothing at or below it follows (recovery replayed it, or the
      // session starts there), everything above it does, in order.
      const floor = { offset: reply.offset, epoch: reply.epoch };
      this.hub.setFloor(channel, session, floor);
      session.send(reply);
      session.releasePending(channel, floor);
    } catch (error) {
      session.subscriptions.delete(channel);
      this.hub.removeSubscriber(channel, session);
      throw error;
    }
    if (rules.presence && session.user !== null) {
      await this.join(channel, session);
      // The session may have ended (or left the channel) while the join was on its way to the store; its leave then
      // found nothing to remove, so take the membership back now rather than leave a member who is gone.
      if (session.closing || !session.subscriptions.has(channel)) await this.leave(channel, session.id);
    }
  }

  private async subscribedReply(resolved: ResolvedChannel, id: RequestId | undefined, recover?: StreamPosition): Promise<SubscribedFrame> {
    const { channel, rules } = resolved;
    const echo = id === undefined ? {} : { id };
    if (!recover) {
      const position = await this.engine.history.position(channel);
      return { type: 'subscribed', ...echo, channel, offset: position.offset, epoch: position.epoch };
    }
    const page = await this.engine.history.read(channel, { since: recover, limit: Math.max(rules.history.size, 1) });
    // Without history nothing can be replayed; recovery only holds when nothing was missed.
    const recovered = page.recovered && (rules.history.size > 0 || page.offset === recover.offset);
    return {
      type: 'subscribed', ...echo, channel, offset: page.offset, epoch: page.epoch, recovered,
      publications: recovered ? toMessages(channel, page) : [],
    };
  }

  async unsubscribe(session: Session, channelName: unknown): Promise<string> {
    const { channel } = this.rules.resolve(channelName);
    if (!session.subscriptions.has(channel)) throw new WsgateError('NOT_SUBSCRIBED');
    await this.leaveChannel(session, channel);
    return channel;
  }

  /** Removes one subscription: local index, broker interest, presence. */
  async leaveChannel(session: Session, channel: string): Promise<void> {
    const state = session.subscriptions.get(channel);
    if (!state) return;
    state.grant?.expiry?.clear();
    session.subscriptions.delete(channel);
    this.hub.removeSubscriber(channel, session);
    if (session.user !== null && this.config.namespaces[state.namespace]?.presence) await this.leave(channel, session.id);
  }

  /** After a session ended: presence leaves for every channel it was present in. */
  async leaveAll(sessionId: string, user: string | null, channels: string[]): Promise<void> {
    if (user === null) return;
    await Promise.all(channels.map((channel) => this.leave(channel, sessionId)));
  }

  async publish(session: Session, channelName: unknown, data: unknown): Promise<{ channel: string } & StreamPosition> {
    const resolved = this.rules.resolve(channelName);
    await this.rules.assertAccess(resolved, session.identity, session.id, 'publish', grantedActions(session, resolved.channel));
    const dataJson = JSON.stringify(data ?? null);
    const position = await this.delivery.publish(
      resolved.channel, dataJson, encodeSender(session.user, session.id), session.id, historyOptions(resolved),
    );
    if (resolved.rules.webhooks.published) this.events.channelPublished(resolved.channel, position, { user: session.user, session: session.id }, dataJson);
    return { channel: resolved.channel, ...position };
  }

  /** A backend's publication (server API): no sender, nobody excluded. */
  async publishFromServer(channelName: unknown, dataJson: string): Promise<{ channel: string } & StreamPosition> {
    const resolved = this.rules.resolve(channelName);
    const position = await this.delivery.publish(resolved.channel, dataJson, 'null', null, historyOptions(resolved));
    return { channel: resolved.channel, ...position };
  }

  async presence(session: Session, channelName: unknown, id: RequestId): Promise<PresenceFrame> {
    const resolved = this.rules.resolve(channelName);
    if (!resolved.rules.presence) throw new WsgateError('PRESENCE_DISABLED');
    await this.rules.assertAccess(resolved, session.identity, session.id, 'presence', grantedActions(session, resolved.channel));
    return { type: 'presence', id, channel: resolved.channel, members: await this.engine.presence.members(resolved.channel) };
  }

  async history(session: Session, channelName: unknown, id: RequestId, since?: StreamPosition, limit?: number): Promise<HistoryFrame> {
    const resolved = this.rules.resolve(channelName);
    if (resolved.rules.history.size === 0) throw new WsgateError('HISTORY_DISABLED');
    await this.rules.assertAccess(resolved, session.identity, session.id, 'history', grantedActions(session, resolved.channel));
    const max = resolved.rules.history.size;
    const page = await this.engine.history.read(resolved.channel, { since, limit: Math.min(limit ?? max, max) });
    return {
      type: 'history', id, channel: resolved.channel, offset: page.offset, epoch: page.epoch, recovered: page.recovered,
      publications: toMessages(resolved.channel, page),
    };
  }

  private async join(channel: string, session: Session): Promise<void> {
    const { firstForUser, seq } = await this.engine.presence.join(channel, { user: session.user!, session: session.id, node: this.nodeId });
    if (!firstForUser) return;
    if (seq !== undefined) this.events.presenceJoined(channel, session.user!, session.id, seq);
    await this.delivery.publishEvent(channel, { type: 'join', channel, user: session.user, session: session.id }, session.id);
  }

  private async leave(channel: string, sessionId: string): Promise<void> {
    const left = await this.engine.presence.leave(channel, sessionId);
    if (left?.lastForUser) await this.announceLeave(channel, left.user, sessionId, left.seq);
  }

  /** Announces the leaves among memberships a purge removed (a dead node's, a drained node's, a late cleanup's). */
  async announceLeaves(removed: ReadonlyArray<{ channel: string; session: string } & PresenceLeave>): Promise<void> {
    for (const entry of removed) if (entry.lastForUser) await this.announceLeave(entry.channel, entry.user, entry.session, entry.seq);
  }

  /**
   * Reports a user's last membership of a channel gone: `presence.left`, and `leave` to the channel's subscribers (also
   * used for sessions of a dead or drained node). Callers pass only removals the presence store reported as the last.
   */
  private async announceLeave(channel: string, user: string, sessionId: string, seq: number | undefined): Promise<void> {
    if (seq !== undefined) this.events.presenceLeft(channel, user, sessionId, seq);
    try {
      await this.delivery.publishEvent(channel, { type: 'leave', channel, user, session: sessionId }, null);
    } catch (error) {
      this.logger.warn({ err: error, channel }, 'could not announce leave');
    }
  }
}

/** What the subscription token of the session's subscription to `channel` permits, if one granted it. */
function grantedActions(session: Session, channel: string): readonly string[] | undefined {
  return session.subscriptions.get(channel)?.grant?.actions;
}

function historyOptions(resolved: ResolvedChannel) {
  return { size: resolved.rules.history.size, ttlMs: resolved.rules.history.ttlSeconds * 1000 };
}

function toMessages(channel: string, page: HistoryPage): MessageFrame[] {
  return page.publications.map((publication) => ({
    type: 'message',
    channel,
    offset: publication.offset,
    epoch: page.epoch,
    from: JSON.parse(publication.fromJson) as MessageFrame['from'],
    data: JSON.parse(publication.dataJson) as unknown,
  }));
}
