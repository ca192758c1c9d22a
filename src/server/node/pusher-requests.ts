import { WsgateError } from '../../protocol/errors.js';
import { isValidUserId } from '../../protocol/names.js';
import type { Identity } from '../auth/identity.js';
import type { PusherAppConfig } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import { classifyFailure } from '../engine/failure.js';
import type { Logger } from '../observability/logger.js';
import type { PusherRequest } from '../codec/pusher-v7/client-frames.js';
import { PUSHER_CLOSE } from '../codec/pusher-v7/close-codes.js';
import {
  pusherError, pusherEvent, serverToUserChannel, subscriptionError, subscriptionSucceeded, type PusherMember,
} from '../codec/pusher-v7/codec.js';
import type { PreparedFrame } from '../codec/prepared-frame.js';
import type { StreamPosition } from '../../protocol/frames.js';
import type { PusherApps } from '../pusher/apps.js';
import { pusherChannelInfo, toWsgateChannel, type PusherEventData } from '../pusher/channel-names.js';
import { verifyChannelAuth, verifyUserAuth } from '../pusher/signatures.js';
import type { Session } from '../session/session.js';
import type { ChannelService, PresenceMemberInfo } from './channel-service.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';
import type { SessionLifecycle } from './session-lifecycle.js';

/** The bucket of a connection's client events (`clientEventRate`), among the session's rate buckets. */
const CLIENT_EVENT_BUCKET = 'pusher:client-events';

/** The longest presence `user_id` wsgate keeps (its user ids' limit). */
const MAX_MEMBER_ID_LENGTH = 128;

/**
 * What a Pusher-protocol connection asks: `pusher:ping`, `pusher:subscribe` (the channel's signature checked against
 * the app's secret, then the node's own subscribe path with `trusted`), `pusher:unsubscribe`, `pusher:signin` (the
 * session becomes the user's, under the session policy) and client events (`client-*`, published through the node's
 * publish path, the sender excluded). Answers and failures go out as Pusher events; it never throws.
 */
export class PusherRequests {
  constructor(
    private readonly apps: PusherApps,
    private readonly engine: Engine,
    private readonly channels: ChannelService,
    private readonly lifecycle: SessionLifecycle,
    private readonly events: LifecycleEvents,
    private readonly logger: Logger,
  ) {}

  async handle(session: Session, request: PusherRequest): Promise<void> {
    const app = session.identity.pusherApp === undefined ? undefined : this.apps.withId(session.identity.pusherApp);
    if (!app) {
      // A wsgate session cannot speak Pusher's events (its codec never yields them); nothing to answer.
      return;
    }
    try {
      switch (request.event) {
        case 'ignored':
          return;
        case 'pusher:ping':
          session.queueFrame(pusherEvent('pusher:pong', {}));
          return;
        case 'pusher:subscribe':
          await this.subscribe(session, app, request.channel, request.auth, request.channelData);
          return;
        case 'pusher:unsubscribe':
          await this.unsubscribe(session, app, request.channel);
          return;
        case 'pusher:signin':
          await this.signIn(session, app, request.auth, request.userData);
          return;
        case 'client':
          await this.clientEvent(session, app, request.name, request.channel, request.data);
          return;
      }
    } catch (error) {
      const failure = classifyFailure(error, this.engine.isHealthy());
      if (failure.code === 'INTERNAL') this.logger.error({ err: error, event: request.event, session: session.id }, 'Pusher request failed');
      session.queueFrame(pusherError(null, failure.message));
    }
  }

  private async subscribe(session: Session, app: PusherAppConfig, name: string, auth?: string, channelData?: string): Promise<void> {
    if (name.startsWith('#server-to-user-')) {
      // pusher-js subscribes to its user's channel after signin; what it receives there is sent to the user.
      if (session.user !== null && name === serverToUserChannel(session.user)) session.queueFrame(subscriptionSucceeded(name));
      else session.queueFrame(subscriptionError(name, 403, 'not signed in as this user'));
      return;
    }
    const info = pusherChannelInfo(name);
    const channel = toWsgateChannel(app.id, name);
    if (!info || !channel) {
      session.queueFrame(subscriptionError(name, 400, 'invalid channel name'));
      return;
    }
    if (session.subscriptions.has(channel)) return;
    let member: PresenceMemberInfo | undefined;
    if (info.kind === 'presence') {
      member = channelData === undefined || !verifyChannelAuth(app, session.id, name, auth, channelData) ? undefined : presenceMember(channelData);
      if (!member) {
        session.queueFrame(subscriptionError(name, 401, 'invalid signature or channel data'));
        return;
      }
      if (!(await this.admitsMember(channel, member.user, app.maxPresenceMembers))) {
        session.queueFrame(subscriptionError(name, 403, `presence channel is full (${app.maxPresenceMembers} members)`));
        return;
      }
    } else if (info.kind !== 'public' && !verifyChannelAuth(app, session.id, name, auth)) {
      session.queueFrame(subscriptionError(name, 401, 'invalid signature'));
      return;
    }
    // The answer goes out before any live event of the channel: subscription_succeeded (with the members, self
    // included, on a presence channel), then a cache channel's last event or cache_miss.
    const answer = async (floor: StreamPosition): Promise<PreparedFrame[]> => {
      const members = member ? withMember(await this.engine.presence.members(channel), member) : undefined;
      // From the list on, the session tracks who it was told of: member events that repeat it are not sent.
      const state = session.subscriptions.get(channel);
      if (members && state) state.members = new Set(members.map((listed) => listed.user));
      const frames = [subscriptionSucceeded(name, members)];
      if (info.cache) frames.push(await this.cachedEvent(channel, name, floor));
      return frames;
    };
    try {
      await this.channels.subscribeSession(session, channel, member ? { trusted: true, member, answer } : { trusted: true, answer });
    } catch (error) {
      if (error instanceof WsgateError && error.code === 'ALREADY_SUBSCRIBED') return;
      if (error instanceof WsgateError && error.status < 500) {
        session.queueFrame(subscriptionError(name, error.status, error.message));
        return;
      }
      throw error;
    }
  }

  /** Room for `user` in a presence channel of at most `max` members: a member joining again always fits. */
  private async admitsMember(channel: string, user: string, max: number): Promise<boolean> {
    if ((await this.engine.presence.count(channel)) < max) return true;
    return (await this.engine.presence.members(channel)).some((member) => member.user === user);
  }

  /**
   * A cache channel's last event, the one at the subscription's floor (what live delivery starts after), or
   * `pusher:cache_miss` when the channel has none.
   */
  private async cachedEvent(channel: string, name: string, floor: StreamPosition): Promise<PreparedFrame> {
    const page = floor.offset === 0
      ? null
      : await this.engine.history.read(channel, { since: { offset: floor.offset - 1, epoch: floor.epoch }, limit: 1 });
    const last = page?.publications.find((publication) => publication.offset === floor.offset);
    const event = last ? pusherEventData(last.dataJson) : null;
    if (event) return pusherEvent(event.event, event.data, name, event.user_id);
    this.events.channelCacheMiss(channel);
    return pusherEvent('pusher:cache_miss', {}, name);
  }

  private async unsubscribe(session: Session, app: PusherAppConfig, name: string): Promise<void> {
    const channel = toWsgateChannel(app.id, name);
    if (channel && session.subscriptions.has(channel)) await this.channels.endSubscription(session, channel);
  }

  /**
   * `pusher:signin`: the signature over `socket_id::user::user_data`, and user data with an `id`. A failure closes
   * the connection with 4009, as Pusher does.
   */
  private async signIn(session: Session, app: PusherAppConfig, auth: string, userData: string): Promise<void> {
    const user = verifyUserAuth(app, session.id, userData, auth) ? signedInUser(userData) : null;
    if (!user) {
      session.close({ code: PUSHER_CLOSE.UNAUTHORIZED, reason: 'signin failed: invalid signature or user data' });
      return;
    }
    if (session.user !== null) {
      if (session.user !== user) session.close({ code: PUSHER_CLOSE.UNAUTHORIZED, reason: 'the connection is signed in as another user' });
      else session.queueFrame(pusherEvent('pusher:signin_success', { user_data: userData }));
      return;
    }
    const identity: Identity = { ...session.identity, user, claims: { user_data: userData } };
    if (await this.lifecycle.signIn(session, identity)) session.queueFrame(pusherEvent('pusher:signin_success', { user_data: userData }));
  }

  /**
   * A client event: on a private or presence channel the connection is subscribed to, with the app's client events on,
   * within the connection's rate and the app's event size. Sent to every subscriber but the sender, with the sender's
   * `user_id` on presence channels.
   */
  private async clientEvent(session: Session, app: PusherAppConfig, event: string, name: string, data: string): Promise<void> {
    if (!app.clientEvents) {
      session.queueFrame(pusherError(null, 'client events are not enabled for this app'));
      return;
    }
    const info = pusherChannelInfo(name);
    const channel = toWsgateChannel(app.id, name);
    if (!info || !channel || (info.kind !== 'private' && info.kind !== 'presence')) {
      session.queueFrame(pusherError(null, 'client events are only accepted on private and presence channels'));
      return;
    }
    const subscription = session.subscriptions.get(channel);
    if (!subscription) {
      session.queueFrame(pusherError(null, `not subscribed to ${name}`));
      return;
    }
    if (Buffer.byteLength(data) > app.maxEventBytes) {
      session.queueFrame(pusherError(null, `event data exceeds ${app.maxEventBytes} bytes`));
      return;
    }
    if (session.takeToken(CLIENT_EVENT_BUCKET, app.clientEventRate) > 0) {
      session.queueFrame(pusherError(PUSHER_CLOSE.CLIENT_EVENT_RATE_LIMIT, 'client event rate limit exceeded'));
      return;
    }
    const carried: PusherEventData = { event, data };
    if (subscription.presence) carried.user_id = subscription.presence.user;
    await this.channels.publishFromClient(session, channel, carried, { trusted: true });
  }
}

/** The members of a presence channel with `member` among them: the joining connection is listed before its join is stored. */
function withMember(members: readonly PusherMember[], member: PresenceMemberInfo): PusherMember[] {
  if (members.some((present) => present.user === member.user)) return [...members];
  return [...members, member.info === undefined ? { user: member.user } : { user: member.user, info: member.info }];
}

/** The member a presence channel's signed channel data names: `user_id` (a string, or a number) and `user_info`. */
function presenceMember(channelData: string): PresenceMemberInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(channelData);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { user_id: id, user_info: info } = parsed as { user_id?: unknown; user_info?: unknown };
  const user = typeof id === 'number' && Number.isFinite(id) ? String(id) : id;
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_MEMBER_ID_LENGTH) return undefined;
  return info === undefined ? { user } : { user, info };
}

/** The user id of signed user data (`{"id": ...}`), when it is one wsgate can hold; null otherwise. */
function signedInUser(userData: string): string | null {
  try {
    const id = (JSON.parse(userData) as { id?: unknown } | null)?.id;
    return isValidUserId(id) ? id : null;
  } catch {
    return null;
  }
}

/** A stored publication's data as a Pusher event, when it is one. */
function pusherEventData(dataJson: string): PusherEventData | null {
  const data = JSON.parse(dataJson) as Partial<PusherEventData> | null;
  if (!data || typeof data.event !== 'string' || typeof data.data !== 'string') return null;
  return typeof data.user_id === 'string' ? { event: data.event, data: data.data, user_id: data.user_id } : { event: data.event, data: data.data };
}
