import { CloseCode } from '../../protocol/close-codes.js';
import { decodeInboxMessage, inboxFrame, type InboxMessage } from '../codec/broker-envelope.js';
import type { ChannelService } from '../channels/channel-service.js';
import type { Logger } from '../observability/logger.js';
import type { SessionLifecycle } from '../session/session-lifecycle.js';
import type { Session } from '../session/session.js';
import type { Hub } from './hub.js';

/** Carries out what other nodes ask of this one through its inbox. */
export class InboxDispatcher {
  constructor(
    private readonly hub: Hub,
    private readonly lifecycle: SessionLifecycle,
    private readonly channels: ChannelService,
    private readonly logger: Logger,
  ) {}

  handle(payload: Buffer): void {
    const message = decodeInboxMessage(payload);
    if (!message) {
      this.logger.warn('dropped an inbox message that could not be read');
      return;
    }
    this.apply(message).catch((error: unknown) => this.logger.warn({ err: error, kind: message.kind }, 'inbox message failed'));
  }

  async apply(message: InboxMessage): Promise<void> {
    switch (message.kind) {
      case 'user':
        this.hub.deliverToUser(message.user, inboxFrame(message.frame), message.exclude);
        return;
      case 'session':
        this.hub.sessions.get(message.session)?.enqueue(inboxFrame(message.frame));
        return;
      case 'disconnect': {
        const code = Number.isInteger(message.code) ? message.code : CloseCode.SERVER_RECONNECT;
        this.lifecycle.disconnectLocal(message.sessions ?? null, message.user ?? null, { code, reason: message.reason });
        return;
      }
      case 'subscribe':
      case 'unsubscribe':
        await Promise.all(this.targets(message).map((session) => this.changeSubscription(message.kind, session, message.channel)));
        return;
      case 'expiry':
        for (const session of this.targets(message)) this.lifecycle.setExpiry(session, message.ttlMs);
        return;
      case 'revoke-token':
        this.lifecycle.revokeToken(message.tokenId, message.reason);
        return;
    }
  }

  /** Server-side subscription changes; the session is told with `subscribed`/`unsubscribed` frames without id. */
  async changeSubscription(kind: 'subscribe' | 'unsubscribe', session: Session, channel: string): Promise<void> {
    if (kind === 'subscribe') {
      if (session.subscriptions.has(channel)) return;
      await this.channels.subscribe(session, channel, undefined, undefined, true).catch((error: unknown) =>
        this.logger.info({ err: error, channel, session: session.id }, 'server-side subscribe refused'));
    } else if (session.subscriptions.has(channel)) {
      await this.channels.leaveChannel(session, channel);
      session.send({ type: 'unsubscribed', channel });
    }
  }

  private targets(message: { sessions?: string[]; user?: string }): Session[] {
    if (message.sessions) return message.sessions.map((id) => this.hub.sessions.get(id)).filter((session): session is Session => session !== undefined);
    return message.user ? [...this.hub.userSessions(message.user)] : [];
  }
}
