import { WsgateError } from '../../protocol/errors.js';
import type { JoinFrame, PresenceFrame, RequestId, StreamPosition, SubscribedFrame } from '../../protocol/frames.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { PresenceEntry, PresenceLeave } from '../engine/presence/presence.js';
import type { Hub } from '../hub/hub.js';
import { HistoryBytes, type HistoryReservation } from '../limits/history-bytes.js';
import type { Logger } from '../observability/logger.js';
import type { PreparedFrame } from '../codec/prepared-frame.js';
import type { GrantedSubscription, Session, SubscriptionState } from '../session/session.js';
import { encodeSender } from '../codec/node-frames.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';
import type { ChannelRules, ResolvedChannel } from '../channels/channel-rules.js';
import type { DeliveryService } from './delivery.js';
import type { LocalSubscriptions } from './local-subscriptions.js';

/** A `subscribed` reply ready to queue, with the history bytes it holds (recovery) and where live frames resume. */
type SubscribedReply = {
  /** Live frames at or below this were replayed, or are to be read with `history`; they are not sent again. */
  skipThrough: StreamPosition;
} & ({ frame: SubscribedFrame } | { prepared: PreparedFrame; reservation: HistoryReservation });

/** How a subscription is admitted: a client's request (`id`, `recover`) or a backend's, with or without a token's grant. */
export interface SubscribeOptions {
  /** The request to answer; none for a server-side subscription (its `subscribed` frame has no id). */
  id?: RequestId;
  /** Where the client left the channel: what it missed is replayed from history. */
  recover?: StreamPosition;
  /** A backend asked (server API, connect hook): the namespace's permission check is skipped. */
  trusted?: boolean;
  /** A subscription token granted it: no permission check, and the grant holds for the channel's other actions. */
  grant?: GrantedSubscription;
  /**
   * Who the session is in the channel's presence, when not its own user: a Pusher connection joins a presence channel
   * as the user its signed channel data names, with that user's info.
   */
  member?: PresenceMemberInfo;
  /**
   * The caller's own answer in place of the `subscribed` reply (another protocol's frames, made from the position live
   * frames follow): queued before any live frame, which wait while it is made.
   */
  answer?: (floor: StreamPosition) => Promise<PreparedFrame[]>;
}

/** A presence member: the user and, optionally, what others are told about them (Pusher's `user_info`). */
export interface PresenceMemberInfo {
  user: string;
  info?: unknown;
}

/**
 * Subscriptions, publications, presence and history for sessions. Channels appear with their first subscriber and
 * vanish with the last (the node drops its broker subscription, the hub its index; presence empties itself).
 */
export class ChannelService {
  /** History bytes in flight for `history` and recovery replies (`limits.history`). */
  readonly historyBytes: HistoryBytes;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly rules: ChannelRules,
    private readonly engine: Engine,
    private readonly hub: Hub,
    private readonly subscriptions: LocalSubscriptions,
    private readonly delivery: DeliveryService,
    private readonly nodeId: string,
    private readonly logger: Logger,
    private readonly events: LifecycleEvents,
  ) {
    this.historyBytes = new HistoryBytes(config.limits.history);
  }

  /**
   * Subscribes the session; the reply (`subscribed`, with what recovery replayed) is queued before any live frame.
   * Returns the position live frames follow (null when the session ended meanwhile).
   */
  async subscribeSession(session: Session, channelName: unknown, options: SubscribeOptions = {}): Promise<StreamPosition | null> {
    const { id, recover, grant } = options;
    const resolved = this.rules.resolve(channelName);
    if (!options.trusted && !grant) await this.rules.assertAccess(resolved, session.identity, session.id, 'subscribe');
    // The access check may have waited for a backend; a session that ended meanwhile must not be indexed again.
    if (session.closing) return null;
    const { channel, rules } = resolved;
    if (session.subscriptions.has(channel)) throw new WsgateError('ALREADY_SUBSCRIBED');
    if (session.subscriptions.size >= this.config.limits.maxSubscriptionsPerSession) throw new WsgateError('TOO_MANY_SUBSCRIPTIONS');
    if (rules.maxSubscribers > 0 && this.hub.subscriberCount(channel) >= rules.maxSubscribers) throw new WsgateError('CHANNEL_FULL');

    const member = rules.presence ? (options.member ?? (session.user === null ? undefined : { user: session.user })) : undefined;
    // Live frames are buffered from here until the reply is queued, so nothing falls between history and live.
    const state: SubscriptionState = { pending: [], namespace: resolved.namespace };
    if (grant) state.grant = grant;
    if (member) state.presence = member;
    session.subscriptions.set(channel, state);
    let floor: StreamPosition;
    try {
      await this.subscriptions.addLocalSubscriber(channel, session);
      const reply = await this.subscribedReply(session, resolved, id, recover);
      if (session.closing || !session.subscriptions.has(channel)) {
        if ('reservation' in reply) reply.reservation.release();
        return null;
      }
      // The reply's position is the session's floor: nothing at or below it follows (recovery replayed it, or the
      // session starts there), everything above it does, in order.
      floor = reply.skipThrough;
      this.subscriptions.setFloor(channel, session, floor);
      if (options.answer) {
        if ('reservation' in reply) reply.reservation.release();
        const frames = await options.answer(floor);
        if (session.closing || !session.subscriptions.has(channel)) return null;
        for (const frame of frames) session.queueFrame(frame);
      } else if ('frame' in reply) session.send(reply.frame);
      else reply.reservation.resize(session.sendReply(reply.prepared, () => reply.reservation.release()));
      session.releasePending(channel, floor);
    } catch (error) {
      session.subscriptions.delete(channel);
      this.subscriptions.removeLocalSubscriber(channel, session);
      throw error;
    }
    if (member) {
      await this.addPresence(channel, session, member);
      // The session may have ended (or left the channel) while the join was on its way to the store; its leave then
      // found nothing to remove, so take the membership back now rather than leave a member who is gone.
      if (session.closing || !session.subscriptions.has(channel)) await this.removePresence(channel, session.id);
    }
    return floor;
  }

  /**
   * The reply to a subscribe; with `recover`, it replays what was missed, up to `limits.history.replyBytes` (`more:
   * true` when the rest is to be read with `history`). Over the session's or node's history bounds it replays nothing
   * and says `more` instead of refusing: the subscribe itself always succeeds.
   */
  private async subscribedReply(session: Session, resolved: ResolvedChannel, id: RequestId | undefined, recover?: StreamPosition): Promise<SubscribedReply> {
    const { channel, rules } = resolved;
    if (!recover) {
      const position = await this.engine.history.position(channel);
      const frame: SubscribedFrame = { type: 'subscribed', ...(id === undefined ? {} : { id }), channel, offset: position.offset, epoch: position.epoch };
      return { frame, skipThrough: position };
    }
    const budget = this.config.limits.history.replyBytes;
    const reservation = this.historyBytes.fits(session, budget) ? this.historyBytes.reserve(session, budget) : undefined;
    try {
      const page = await this.engine.history.read(channel, { since: recover, limit: Math.max(rules.history.size, 1), maxBytes: reservation ? budget : 0 });
      const position = { offset: page.offset, epoch: page.epoch };
      // Without history nothing can be replayed; recovery only holds when nothing was missed.
      const recovered = page.recovered && (rules.history.size > 0 || page.offset === recover.offset);
      const publications = recovered ? page.publications : [];
      const more = recovered && (publications.at(-1)?.offset ?? recover.offset) < page.offset;
      if (reservation) return { prepared: session.codec.encodeRecoveredReply(id, channel, position, recovered, more, publications), skipThrough: position, reservation };
      // Over the bounds nothing was read but the position: a plain frame.
      const frame: SubscribedFrame = { type: 'subscribed', ...(id === undefined ? {} : { id }), channel, ...position, recovered, ...(more ? { more } : {}), publications: [] };
      return { frame, skipThrough: position };
    } catch (error) {
      reservation?.release();
      throw error;
    }
  }

  async unsubscribeSession(session: Session, channelName: unknown): Promise<string> {
    const { channel } = this.rules.resolve(channelName);
    if (!session.subscriptions.has(channel)) throw new WsgateError('NOT_SUBSCRIBED');
    await this.endSubscription(session, channel);
    return channel;
  }

  /** Ends one subscription of a live session: local index, broker interest, presence. */
  async endSubscription(session: Session, channel: string): Promise<void> {
    const state = session.subscriptions.get(channel);
    if (!state) return;
    state.grant?.expiry?.clear();
    session.subscriptions.delete(channel);
    this.subscriptions.removeLocalSubscriber(channel, session);
    if (state.presence) await this.removePresence(channel, session.id);
  }

  /** After a session ended: its presence removed from the channels it was a member of (leaves announced). */
  async removeSessionPresence(sessionId: string, channels: string[]): Promise<void> {
    await Promise.all(channels.map((channel) => this.removePresence(channel, sessionId)));
  }

  /**
   * A client's publication: checked against the namespace (or the session's grant), sent with its sender, to every
   * subscriber but the sender's session. `trusted`: the caller checked the client may publish (Pusher's client events).
   */
  async publishFromClient(session: Session, channelName: unknown, data: unknown, options: { trusted?: boolean } = {}): Promise<{ channel: string } & StreamPosition> {
    const resolved = this.rules.resolve(channelName);
    if (!options.trusted) await this.rules.assertAccess(resolved, session.identity, session.id, 'publish', grantedActions(session, resolved.channel));
    const dataJson = JSON.stringify(data ?? null);
    const position = await this.delivery.publishToChannel(
      resolved.channel, dataJson, encodeSender(session.user, session.id), session.id, historyOptions(resolved),
    );
    if (resolved.rules.webhooks.published) this.events.channelPublished(resolved.channel, position, { user: session.user, session: session.id }, dataJson);
    return { channel: resolved.channel, ...position };
  }

  /** A backend's publication (server API): no sender; nobody excluded unless `excludeSession` names a session. */
  async publishFromServer(channelName: unknown, dataJson: string, excludeSession: string | null = null): Promise<{ channel: string } & StreamPosition> {
    const resolved = this.rules.resolve(channelName);
    const position = await this.delivery.publishToChannel(resolved.channel, dataJson, 'null', excludeSession, historyOptions(resolved));
    return { channel: resolved.channel, ...position };
  }

  async presence(session: Session, channelName: unknown, id: RequestId): Promise<PresenceFrame> {
    const resolved = this.rules.resolve(channelName);
    if (!resolved.rules.presence) throw new WsgateError('PRESENCE_DISABLED');
    await this.rules.assertAccess(resolved, session.identity, session.id, 'presence', grantedActions(session, resolved.channel));
    return { type: 'presence', id, channel: resolved.channel, members: await this.engine.presence.members(resolved.channel) };
  }

  /**
   * Answers `history` with one page of at most `limits.history.replyBytes` (`more: true` when cut short), sent
   * outside the slow-consumer bound; refused with RATE_LIMITED while the session's or node's history bytes in flight
   * are at their bound.
   */
  async history(session: Session, channelName: unknown, id: RequestId, since?: StreamPosition, limit?: number): Promise<void> {
    const resolved = this.rules.resolve(channelName);
    if (resolved.rules.history.size === 0) throw new WsgateError('HISTORY_DISABLED');
    await this.rules.assertAccess(resolved, session.identity, session.id, 'history', grantedActions(session, resolved.channel));
    const max = resolved.rules.history.size;
    const budget = this.config.limits.history.replyBytes;
    const reservation = this.historyBytes.reserve(session, budget);
    try {
      const page = await this.engine.history.read(resolved.channel, { since, limit: Math.min(limit ?? max, max), maxBytes: budget });
      const reply = session.codec.encodeHistoryReply(id, resolved.channel, page, page.recovered, page.more === true, page.publications);
      reservation.resize(session.sendReply(reply, () => reservation.release()));
    } catch (error) {
      reservation.release();
      throw error;
    }
  }

  private async addPresence(channel: string, session: Session, member: PresenceMemberInfo): Promise<void> {
    const entry: PresenceEntry = { user: member.user, session: session.id, node: this.nodeId };
    if (member.info !== undefined) entry.info = member.info;
    const { firstForUser, seq } = await this.engine.presence.join(channel, entry);
    if (!firstForUser) return;
    if (seq !== undefined) this.events.presenceJoined(channel, member.user, session.id, seq);
    const join: JoinFrame = { type: 'join', channel, user: member.user, session: session.id };
    if (member.info !== undefined) join.info = member.info;
    await this.delivery.publishEvent(channel, join, session.id);
  }

  private async removePresence(channel: string, sessionId: string): Promise<void> {
    const left = await this.engine.presence.leave(channel, sessionId);
    if (left?.lastForUser) await this.reportUserLeft(channel, left.user, sessionId, left.seq);
  }

  /** Announces the leaves among memberships a purge removed (a dead node's, a drained node's, a late cleanup's). */
  async reportPurgedMemberships(removed: ReadonlyArray<{ channel: string; session: string } & PresenceLeave>): Promise<void> {
    for (const entry of removed) if (entry.lastForUser) await this.reportUserLeft(entry.channel, entry.user, entry.session, entry.seq);
  }

  /**
   * Reports a user's last membership of a channel gone: `presence.left`, and `leave` to the channel's subscribers (also
   * used for sessions of a dead or drained node). Callers pass only removals the presence store reported as the last.
   */
  private async reportUserLeft(channel: string, user: string, sessionId: string, seq: number | undefined): Promise<void> {
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
