import { CloseCode } from '../../protocol/close-codes.js';
import { decodeInboxMessage, inboxFrame, type InboxMessage } from '../codec/broker-envelope.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { ClientFramePosts } from './client-frame-posts.js';
import type { DeliveryService } from './delivery.js';
import type { NodeCommands } from './node-commands.js';
import type { SessionLifecycle } from './session-lifecycle.js';

/** Carries out what other nodes ask of this one through its inbox. */
export class InboxDispatcher {
  constructor(
    private readonly hub: Hub,
    private readonly delivery: DeliveryService,
    private readonly lifecycle: SessionLifecycle,
    private readonly commands: NodeCommands,
    private readonly posts: ClientFramePosts,
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
        this.delivery.deliverToLocalUser(message.user, inboxFrame(message.frame), message.exclude);
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
        await Promise.all(this.hub.lookup(message).map((session) => this.commands.changeLocalSubscription(message.kind, session, message.channel)));
        return;
      case 'expiry':
        for (const session of this.hub.lookup(message)) this.lifecycle.setExpiry(session, message.ttlMs);
        return;
      case 'revoke-token':
        this.lifecycle.revokeToken(message.tokenId, message.reason);
        return;
      case 'emulation':
        this.posts.receive(message);
        return;
    }
  }
}
