import { WsgateError } from '../../protocol/errors.js';
import type { RefreshedFrame, RefreshRequest, SubscribeRequest } from '../../protocol/frames.js';
import { parseChannel } from '../../protocol/names.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { SubscriptionTokens } from '../auth/subscription-tokens.js';
import type { Metrics } from '../observability/metrics.js';
import type { GrantedSubscription, Session } from '../session/session.js';
import type { ChannelService } from './channel-service.js';
import type { SessionLifecycle } from './session-lifecycle.js';

/**
 * Credentials that change while a session lives: `refresh` of the session's own credential (a JWT or a ticket for
 * the same user), subscriptions granted by a subscription token, and `refresh` of such a token. A refused refresh
 * leaves everything as it was: the old credential keeps running towards its deadline.
 */
export class CredentialRefresh {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly subscriptionTokens: SubscriptionTokens,
    private readonly channels: ChannelService,
    private readonly lifecycle: SessionLifecycle,
    private readonly metrics: Metrics,
  ) {}

  /** A `subscribe` that carries a subscription token: the token is the permission; its expiry is the subscription's. */
  async subscribeWithToken(session: Session, request: SubscribeRequest & { token: string }): Promise<void> {
    if (!parseChannel(request.channel)) throw new WsgateError('CHANNEL_INVALID');
    const grant: GrantedSubscription = await this.subscriptionTokens.verify(request.token, session.user, request.channel);
    await this.channels.subscribeSession(session, request.channel, { id: request.id, recover: request.recover, grant });
    if (session.subscriptions.get(request.channel)?.grant === grant) this.lifecycle.armGrant(session, request.channel, grant);
  }

  /** Answers `refresh`; throws (an `error` frame) with the session and its subscriptions unchanged. */
  async refresh(session: Session, request: RefreshRequest): Promise<RefreshedFrame> {
    const target = request.channel === undefined ? 'session' : 'subscription';
    try {
      const frame = request.channel === undefined ? await this.refreshSession(session, request) : await this.refreshSubscription(session, request, request.channel);
      this.metrics.refreshes.inc({ target, result: 'ok' });
      return frame;
    } catch (error) {
      this.metrics.refreshes.inc({ target, result: error instanceof WsgateError ? error.code : 'INTERNAL' });
      throw error;
    }
  }

  private async refreshSession(session: Session, request: RefreshRequest): Promise<RefreshedFrame> {
    const identity = await this.authenticator.renew(session.user, request.token);
    this.lifecycle.renew(session, identity);
    const expiresIn = identity.expiresAt === undefined ? null : Math.max(0, identity.expiresAt - Date.now());
    return { type: 'refreshed', id: request.id, expiresIn };
  }

  private async refreshSubscription(session: Session, request: RefreshRequest, channel: string): Promise<RefreshedFrame> {
    const state = session.subscriptions.get(channel);
    if (!state) throw new WsgateError('NOT_SUBSCRIBED');
    const grant: GrantedSubscription = await this.subscriptionTokens.verify(request.token, session.user, channel);
    // The subscription may have ended (expired, unsubscribed) while the token was being checked.
    if (session.subscriptions.get(channel) !== state) throw new WsgateError('NOT_SUBSCRIBED');
    this.lifecycle.armGrant(session, channel, grant);
    return { type: 'refreshed', id: request.id, channel, expiresIn: Math.max(0, grant.expiresAt - Date.now()) };
  }
}
